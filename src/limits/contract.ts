/**
 * Counters that refuse work: the per-second rate limit (fixed one-second windows) and the daily attempt
 * caps. Keys never hold raw personal data: callers pass keyed hashes.
 */
export interface RateLimiter {
  /** counts one request in the window of `nowMs`'s second; false when it is over `limit` (it is still counted) */
  admit(key: string, limit: number, nowMs: number): Promise<boolean>;
}

export interface DailyCounter {
  /**
   * One attempt for every key on `day`, only if each key is still below `cap`: check and increment together,
   * so two concurrent attempts can never both take the last unit. false → nothing was counted.
   */
  attempt(keys: readonly string[], cap: number, day: string): Promise<boolean>;
}
