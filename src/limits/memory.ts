/** In-process counters for the embedded mode: exact for one server process (JavaScript runs one request at a time). */
import type { DailyCounter, RateLimiter } from "./contract";

export class MemoryRateLimiter implements RateLimiter {
  private second = -1;
  private counts = new Map<string, number>();

  async admit(key: string, limit: number, nowMs: number): Promise<boolean> {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      // A new window: the old counts can never matter again.
      this.second = second;
      this.counts = new Map();
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= limit;
  }
}

export class MemoryDailyCounter implements DailyCounter {
  private day = "";
  private counts = new Map<string, number>();

  async attempt(keys: readonly string[], cap: number, day: string): Promise<boolean> {
    if (day !== this.day) {
      this.day = day;
      this.counts = new Map();
    }
    if (cap > 0 && keys.some((k) => (this.counts.get(k) ?? 0) >= cap)) return false;
    for (const k of keys) this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    return true;
  }
}
