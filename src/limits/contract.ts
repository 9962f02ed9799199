/**
 * Counters that refuse work: the per-second rate limit (fixed one-second windows) and the daily attempt
 * caps. Keys never hold raw personal data: callers pass keyed hashes.
 */
export interface RateLimiter {
  /** counts one request in the window of `nowMs`'s second; false when it is over `limit` (it is still counted) */
  admit(key: string, limit: number, nowMs: number): Promise<boolean>;
}

/**
 * Who has been active lately under a key: the gateway's teams calling upstream, counted across every instance
 * in scale-out, so each team's share of the upstream limit is the same wherever its calls land.
 */
export interface ActiveMembers {
  /** notes `member` as active at `nowMs`; resolves with how many members were active within the last `windowMs` */
  touch(key: string, member: string, nowMs: number, windowMs: number): Promise<number>;
}

export interface DailyCounter {
  /**
   * One attempt for every key on `day`, only if each key is still below `cap`: check and increment together,
   * so two concurrent attempts can never both take the last unit. false → nothing was counted.
   */
  attempt(keys: readonly string[], cap: number, day: string): Promise<boolean>;
}

/**
 * Where the embedded daily counter keeps the day's counts (the SQLite store, written with its group commit), so
 * that a restart keeps them and the counter can hold only some of them in memory.
 */
export interface DailyCountLog {
  /** up to `limit` of the counts recorded for `day` */
  loadDay(day: string, limit: number): Map<string, number>;
  countOf(day: string, key: string): number;
  /** one attempt for each key; queued, committed with the next group commit */
  record(day: string, keys: readonly string[]): void;
  /** resolves once every attempt recorded so far is committed */
  settled(): Promise<void>;
  /** drops the counts of days before `day` */
  forgetBefore(day: string): void;
}

/**
 * Money set aside before it is spent: a reservation is refused when it would take the key past its cap, so
 * concurrent calls can never spend more than the cap together. `base` is what was spent before the counter
 * knew the key (read from the ledger once).
 */
export interface SpendCounter {
  reserve(key: string, amount: number, cap: number, base: () => Promise<number>): Promise<boolean>;
  /** gives back what a reservation set aside and was not spent */
  release(key: string, amount: number): Promise<void>;
}
