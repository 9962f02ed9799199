/**
 * Group commit for the stores' writes. Charges must be committed before their answers go out, so a charge
 * schedules a commit at the next event-loop turn and its promise settles after it. At most one commit is under way:
 * what arrives meanwhile waits for it and goes in the next, so under load each commit serves every request since the
 * last one (a transaction writes each page it touches once, however many rows it holds), and at rest a charge waits
 * for its own commit only. Queued rows (audit entries, daily counts) are not awaited by a request: they ride along
 * with the next commit, or are committed on their own after `queueDelayMs` or once `queueBatch` wait.
 * A commit reports rows it could not write one by one: only their own requests fail.
 */
export interface CommitResult {
  /** indexes of the charges not written; the others are committed */
  failedCharges: readonly number[];
  failedQueued: number;
  error?: string;
}

export class GroupCommit<C, Q> {
  private charges: C[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private queued: Q[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** the commit under way, settled once its rows' waiters are */
  private current: Promise<void> | undefined;
  /** rows became due while a commit was under way: they go as soon as it settles */
  private dueAfterCurrent = false;

  constructor(
    private readonly commit: (charges: C[], queued: Q[]) => Promise<CommitResult>,
    private readonly onQueuedError: (err: unknown) => void,
    private readonly queueDelayMs = 20,
    private readonly queueBatch = 512,
  ) {}

  charge(item: C): Promise<void> {
    this.charges.push(item);
    const settled = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.immediate ??= setImmediate(() => this.send());
    return settled;
  }

  queue(item: Q): void {
    this.queued.push(item);
    if (this.queued.length >= this.queueBatch) this.immediate ??= setImmediate(() => this.send());
    else this.timer ??= setTimeout(() => this.send(), this.queueDelayMs);
  }

  /** Commits everything queued now and waits for it (close calls it: nothing queued is lost). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.current) await this.current;
      else if (this.charges.length > 0 || this.queued.length > 0) this.send();
      else return;
    }
  }

  /** Hands what is gathered to one commit, or, with one under way, has it follow that one. */
  private send(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = this.timer = undefined;
    if (this.current) {
      this.dueAfterCurrent = true;
      return;
    }
    if (this.charges.length === 0 && this.queued.length === 0) return;
    const { charges, waiters, queued } = this;
    this.charges = [];
    this.waiters = [];
    this.queued = [];
    // A commit that throws at once (no writer to hand it to) fails its rows as one that rejects does.
    this.current = Promise.resolve()
      .then(() => this.commit(charges, queued))
      .then(
        (result) => {
          const failed = new Set(result.failedCharges);
          for (const [i, w] of waiters.entries()) {
            if (failed.has(i)) w.reject(new Error(result.error ?? "the charge could not be written"));
            else w.resolve();
          }
          if (result.failedQueued > 0)
            this.onQueuedError(new Error(`${result.failedQueued} queued rows were not written: ${result.error}`));
        },
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
          if (queued.length > 0) this.onQueuedError(new Error(`${queued.length} queued rows were not written: ${String(err)}`));
        },
      )
      .finally(() => {
        this.current = undefined;
        if (this.dueAfterCurrent) {
          this.dueAfterCurrent = false;
          this.send();
        } else if (this.queued.length > 0) {
          // queued rows whose timer fired meanwhile were marked due above; the others keep their own timer
          this.timer ??= setTimeout(() => this.send(), this.queueDelayMs);
        }
      });
  }
}
