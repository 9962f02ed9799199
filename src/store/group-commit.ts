/**
 * Group commit for the stores' writes. Charges must be committed before their answers go out, so a charge
 * schedules a commit at the next event-loop turn and its promise settles after it; under load one commit
 * serves every request of that turn. Queued rows (audit entries, daily counts) are not awaited by a request: they
 * ride along with the next commit, or are committed on their own after `queueDelayMs` or once `queueBatch` wait.
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
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly commit: (charges: C[], queued: Q[]) => Promise<CommitResult>,
    private readonly onQueuedError: (err: unknown) => void,
    private readonly queueDelayMs = 20,
    private readonly queueBatch = 512,
  ) {}

  charge(item: C): Promise<void> {
    this.charges.push(item);
    const settled = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.immediate ??= setImmediate(() => void this.flush());
    return settled;
  }

  queue(item: Q): void {
    this.queued.push(item);
    if (this.queued.length >= this.queueBatch) this.immediate ??= setImmediate(() => void this.flush());
    else this.timer ??= setTimeout(() => void this.flush(), this.queueDelayMs);
  }

  /** Commits what is queued now and waits for every commit under way (close calls it: nothing queued is lost). */
  async flush(): Promise<void> {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = this.timer = undefined;
    if (this.charges.length > 0 || this.queued.length > 0) {
      const { charges, waiters, queued } = this;
      this.charges = [];
      this.waiters = [];
      this.queued = [];
      // A commit that throws at once (no writer to hand it to) fails its rows as one that rejects does.
      const done = Promise.resolve()
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
        );
      this.inFlight.add(done);
      void done.finally(() => this.inFlight.delete(done));
    }
    await Promise.all(this.inFlight);
  }
}
