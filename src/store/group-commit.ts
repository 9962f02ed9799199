/**
 * Group commit for the embedded store's writes. Charges must be committed before their answers go out, so a
 * charge schedules a commit at the next event-loop turn and its promise settles after it; under load one commit
 * serves every request of that turn. Audit entries are not awaited by anyone: they ride along with the next
 * commit, or are committed on their own after `auditDelayMs` or once `auditBatch` of them are waiting.
 */
export class GroupCommit<C, A> {
  private charges: C[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private audits: A[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly commit: (charges: C[], audits: A[]) => Promise<void>,
    private readonly onAuditError: (err: unknown) => void,
    private readonly auditDelayMs = 20,
    private readonly auditBatch = 512,
  ) {}

  charge(item: C): Promise<void> {
    this.charges.push(item);
    const settled = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.immediate ??= setImmediate(() => void this.flush());
    return settled;
  }

  audit(item: A): void {
    this.audits.push(item);
    if (this.audits.length >= this.auditBatch) this.immediate ??= setImmediate(() => void this.flush());
    else this.timer ??= setTimeout(() => void this.flush(), this.auditDelayMs);
  }

  /** Commits what is queued now and waits for every commit under way (close calls it: nothing queued is lost). */
  async flush(): Promise<void> {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = this.timer = undefined;
    if (this.charges.length > 0 || this.audits.length > 0) {
      const { charges, waiters, audits } = this;
      this.charges = [];
      this.waiters = [];
      this.audits = [];
      const done = this.commit(charges, audits).then(
        () => waiters.forEach((w) => w.resolve()),
        (err) => {
          waiters.forEach((w) => w.reject(err));
          if (waiters.length === 0) this.onAuditError(err);
        },
      );
      this.inFlight.add(done);
      void done.finally(() => this.inFlight.delete(done));
    }
    await Promise.all(this.inFlight);
  }
}
