/**
 * Client-side pacing: at most `ratePerSecond` sends in any window of a little over a second, so a caller that
 * bursts never meets the server's fixed one-second windows with more than the limit (sliding windows contain
 * every fixed one; the margin absorbs arrival jitter).
 */
export class Pacer {
  private readonly sent: number[] = [];

  constructor(
    private readonly ratePerSecond: number,
    private readonly windowMs = 1050,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new Error("pace must be a positive number of requests per second");
  }

  /** Resolves when one more request may go out, and counts it. */
  async wait(): Promise<void> {
    for (;;) {
      const t = this.now();
      let oldest = this.sent[0];
      while (oldest !== undefined && oldest <= t - this.windowMs) {
        this.sent.shift();
        oldest = this.sent[0];
      }
      if (oldest === undefined || this.sent.length < this.ratePerSecond) {
        this.sent.push(t);
        return;
      }
      const until = oldest + this.windowMs;
      await new Promise((r) => setTimeout(r, until - t + 1));
    }
  }
}
