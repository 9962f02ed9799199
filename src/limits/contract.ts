/**
 * Counters that refuse work: the per-second rate limit (fixed one-second windows) and the daily attempt
 * caps. Keys never hold raw personal data: callers pass keyed hashes.
 */
export interface RateLimiter {
  /** counts one request in the window of `nowMs`'s second; false when it is over `limit` (it is still counted) */
  admit(key: string, limit: number, nowMs: number): Promise<boolean>;
}

/** What a nonce store says of one nonce: noted now, still remembered, or its group holds as many as it may. */
export type NonceVerdict = "fresh" | "replayed" | "full";

/** Members seen once until their own end, by group, across every instance in scale-out (Alibaba's SignatureNonce). */
export interface SeenOnce {
  /**
   * notes `member` in `group` until `untilMs` unless it is remembered still ("replayed") or `group` already holds
   * `cap` unexpired members, or a store in one process holds its bound (seen-once.ts) ("full": nothing is evicted to
   * make room); times are the instances' clock. `share`: the tenant whose groups share the room of a store in one
   * process (the group itself when absent); a shared store bounds each group by `cap` only
   */
  firstUse(group: string, member: string, nowMs: number, untilMs: number, cap: number, share?: string): Promise<NonceVerdict>;
}

/**
 * Who has been active lately under a key: the gateway's teams calling upstream, counted across every instance
 * in scale-out, so each team's share of the upstream limit is the same wherever its calls land.
 */
export interface ActiveMembers {
  /** notes `member` as active at `nowMs`; resolves with how many members were active within the last `windowMs` */
  touch(key: string, member: string, nowMs: number, windowMs: number): Promise<number>;
}

/**
 * The verdict on each encrypted call's openings (faceid/decrypt-budget.ts), given once the fields were opened and
 * taken in one atomic step, across every instance: the decryption failures counted per key in fixed windows of
 * `windowMs` aligned on the clock, and the AES-CBC blocks pinned to the block that came before them. A check made
 * apart from its count would let calls sent together all pass it; here they cannot take a key past its budget.
 */
export interface OpeningJudge {
  judge(question: OpeningQuestion): Promise<OpeningVerdict>;
}

export interface OpeningQuestion {
  /** whose failures: the key's count in the window of `nowMs`, and the owner of the pins set (in-process bounds) */
  key: string;
  limit: number;
  windowMs: number;
  nowMs: number;
  /** whether every field opened, well formed */
  opened: boolean;
  /** the AES-CBC blocks opened (keyed digests, distinct `block`s): each must hold no other predecessor's pin */
  pins: readonly BlockPin[];
  /** how long a pin set now holds */
  pinTtlMs: number;
}

/** One ciphertext block under one data key, and the block (or IV) before it: keyed, never the bytes themselves. */
export interface BlockPin {
  block: string;
  predecessor: string;
}

/**
 * - refused: the key already had `limit` failures in the window; nothing counted, nothing pinned;
 * - failed: the opening failed, or a block is pinned to another predecessor: counted (`failures`, this one included);
 * - opened: every field opened, no pin held against it.
 * Unless refused or a pin held against it, the call's blocks are pinned (those not pinned yet) for `pinTtlMs`.
 */
export type OpeningVerdict = { kind: "refused" } | { kind: "failed"; failures: number } | { kind: "opened" };

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
 * concurrent calls can never spend more than the cap together. `base` is what the ledger says was spent; it is read
 * whenever the counter does not know the key (first use, or the key was lost: a restart, an eviction).
 */
export interface SpendCounter {
  /** sets `amount` aside under `key`; undefined (nothing set aside) when it would take the key past `cap` */
  reserve(key: string, amount: number, cap: number, base: () => Promise<number>): Promise<Reservation | undefined>;
}

/** What one call set aside, settled once when the call's answer is known. */
export interface Reservation {
  /** the call was not charged: given back to the counter that holds it, never to one seeded since, never creating one */
  release(): Promise<void>;
  /**
   * the call was charged: it stays spent, and is added to a counter seeded since it was set aside (the ledger that
   * seeded it may not have held this charge yet). Never throws: a failure is reported, the answer stands.
   */
  keep(): Promise<void>;
}
