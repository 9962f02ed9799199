/**
 * In-process counters for the embedded mode: exact for one server process (JavaScript runs one request at a
 * time). The daily counts are also written to the store's log, so a restart keeps them, and only the most recent
 * `maxKeys` of them are held in memory: an older key is read back from the log when it comes again.
 */
import { MemoryBlockPins } from "./block-pins";
import type {
  ActiveMembers,
  DailyCountLog,
  DailyCounter,
  OpeningJudge,
  OpeningQuestion,
  OpeningVerdict,
  RateLimiter,
  Reservation,
  SpendCounter,
} from "./contract";

/** How far behind the current window a request's second may be and still count in it. */
const LATE_SECONDS = 2;

export class MemoryRateLimiter implements RateLimiter {
  private second = -1;
  private counts = new Map<string, number>();

  async admit(key: string, limit: number, nowMs: number): Promise<boolean> {
    const second = Math.floor(nowMs / 1000);
    // Windows only move forward: a request stamped with an earlier second (it waited) counts in the current one.
    // Much earlier is the clock having been set back: follow it rather than refuse until it catches up.
    if (second > this.second || second < this.second - LATE_SECONDS) {
      this.second = second;
      this.counts = new Map();
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= limit;
  }
}

export class MemoryActiveMembers implements ActiveMembers {
  private readonly lastSeen = new Map<string, Map<string, number>>();

  async touch(key: string, member: string, nowMs: number, windowMs: number): Promise<number> {
    let members = this.lastSeen.get(key);
    if (!members) {
      members = new Map();
      this.lastSeen.set(key, members);
    }
    members.set(member, nowMs);
    for (const [m, at] of members) if (at <= nowMs - windowMs) members.delete(m);
    return members.size;
  }
}

/**
 * Each key's decryption failures in its current window (a key seen again in a later window starts that window at
 * 0), and the AES-CBC block pins: a verdict is reached in one synchronous step, so calls sent together cannot all
 * pass the budget's check before any is counted.
 */
export class MemoryOpeningJudge implements OpeningJudge {
  private readonly counts = new Map<string, { window: number; n: number }>();

  constructor(private readonly pins = new MemoryBlockPins()) {}

  async judge(q: OpeningQuestion): Promise<OpeningVerdict> {
    const window = Math.floor(q.nowMs / q.windowMs);
    const entry = this.counts.get(q.key);
    const n = entry?.window === window ? entry.n : 0;
    if (n >= q.limit) return { kind: "refused" };
    const clash = this.pins.clashes(q.pins, q.nowMs);
    if (!clash) this.pins.pin(q.key, q.pins, q.pinTtlMs, q.nowMs);
    if (q.opened && !clash) return { kind: "opened" };
    // Only keys that failed are held; the SecretIds of a past window go once there are many of them.
    if (entry === undefined && this.counts.size >= MAX_FAILING_KEYS) this.forgetBefore(window);
    this.counts.set(q.key, { window, n: n + 1 });
    return { kind: "failed", failures: n + 1 };
  }

  private forgetBefore(window: number): void {
    for (const [key, entry] of this.counts) if (entry.window < window) this.counts.delete(key);
  }
}
const MAX_FAILING_KEYS = 10_000;

export const DEFAULT_DAILY_KEYS_IN_MEMORY = 500_000;

export class MemoryDailyCounter implements DailyCounter {
  private day = "";
  private counts = new Map<string, number>();
  /** keys moved out of memory whose counts the log may not have committed yet */
  private draining = new Map<string, number>();
  /** whether the log holds counts of this day that memory does not */
  private spilled = false;

  constructor(
    private readonly log?: DailyCountLog,
    private readonly maxKeys = DEFAULT_DAILY_KEYS_IN_MEMORY,
  ) {}

  async attempt(keys: readonly string[], cap: number, day: string): Promise<boolean> {
    if (day !== this.day) this.startDay(day);
    const current = keys.map((k) => this.countOf(k));
    if (cap > 0 && current.some((n) => n >= cap)) return false;
    for (const [i, k] of keys.entries()) this.counts.set(k, (current[i] ?? 0) + 1);
    this.log?.record(day, keys);
    if (this.counts.size > this.maxKeys) this.evictOldest();
    return true;
  }

  private startDay(day: string): void {
    this.day = day;
    this.draining = new Map();
    this.counts = this.log?.loadDay(day, this.maxKeys + 1) ?? new Map();
    this.spilled = this.counts.size > this.maxKeys;
    if (this.spilled) this.evictOldest();
    this.log?.forgetBefore(day);
  }

  private countOf(key: string): number {
    const n = this.counts.get(key) ?? this.draining.get(key);
    if (n !== undefined) return n;
    return this.spilled && this.log ? this.log.countOf(this.day, key) : 0;
  }

  /**
   * Moves the oldest tenth out of memory; until the log has committed them they are still answered from here.
   * Without a log (scale-out without Redis, already per instance) they are forgotten: those keys start again at 0.
   */
  private evictOldest(): void {
    const batch = new Map<string, number>();
    const target = Math.max(1, Math.floor(this.maxKeys / 10));
    for (const [k, n] of this.counts) {
      if (batch.size >= target) break;
      batch.set(k, n);
    }
    for (const k of batch.keys()) this.counts.delete(k);
    if (!this.log) return;
    for (const [k, n] of batch) this.draining.set(k, n);
    this.spilled = true;
    const draining = this.draining;
    void this.log.settled().then(() => {
      for (const [k, n] of batch) if (draining.get(k) === n) draining.delete(k);
    });
  }
}

/**
 * One process's spend counters (embedded mode): seeded from the ledger on first use, kept in memory after. A key is
 * never lost while the process runs, and a restart loses the reservations with it, so no generation is needed.
 */
export class MemorySpendCounter implements SpendCounter {
  private readonly totals = new Map<string, number>();
  private readonly loading = new Map<string, Promise<number>>();

  async reserve(key: string, amount: number, cap: number, base: () => Promise<number>): Promise<Reservation | undefined> {
    let total = this.totals.get(key);
    if (total === undefined) {
      let load = this.loading.get(key);
      if (!load) {
        load = base();
        this.loading.set(key, load);
      }
      // A base that fails is asked again by the next call, not kept as this key's answer.
      const seeded = await load.finally(() => this.loading.delete(key));
      total = this.totals.get(key) ?? seeded;
    }
    if (total + amount > cap) {
      this.totals.set(key, total);
      return undefined;
    }
    this.totals.set(key, total + amount);
    return { release: () => this.release(key, amount), keep: async () => undefined };
  }

  /** whether the key's total is known here (seeded), so a reservation needs no base */
  knows(key: string): boolean {
    return this.totals.has(key);
  }

  /** gives back what a reservation set aside; a key not known here is left unknown (it is seeded when next used) */
  async release(key: string, amount: number): Promise<void> {
    const total = this.totals.get(key);
    if (total !== undefined) this.totals.set(key, total - amount);
  }
}
