/**
 * Limits shared by every instance, in Redis (ioredis): each check is one atomic script, one round trip.
 * Keys carry keyed hashes only and expire by themselves. Commands fail at once while Redis is away
 * (no offline queue) and the client reconnects on its own.
 */
import { Redis } from "ioredis";
import type { FailureSink } from "../common/failures";
import { UnavailableError } from "../common/unavailable";
import type { ActiveMembers, DailyCounter, RateLimiter, SpendCounter } from "./contract";

// Count this request in its one-second window; the window's key lives two seconds.
const ADMIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
return n`;

// All keys below the cap? Then count one attempt on each; otherwise count nothing. Keys live two days.
const ATTEMPT = `
local cap = tonumber(ARGV[1])
if cap > 0 then
  for i, key in ipairs(KEYS) do
    if tonumber(redis.call('GET', key) or '0') >= cap then return 0 end
  end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, 172800) end
end
return 1`;

// Seed the month's total from the ledger once, then add the amount only if it stays within the cap.
const RESERVE = `
local cap = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[3] == '' then return -1 end
  redis.call('SET', KEYS[1], ARGV[3], 'EX', 3456000)
end
if tonumber(redis.call('GET', KEYS[1])) + tonumber(ARGV[1]) > cap then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return 1`;

// Note one member active now, forget those not seen within the window, and count who is left.
const TOUCH = `
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])`;

interface LimitCommands {
  sanyaoTouch(key: string, nowMs: number, member: string, windowMs: number): Promise<number>;
  sanyaoReserve(key: string, amount: number, cap: number, base: string): Promise<number>;
  sanyaoAdmit(key: string): Promise<number>;
  sanyaoAttempt(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
}

export class RedisLimits implements RateLimiter, DailyCounter, SpendCounter, ActiveMembers {
  private readonly redis: Redis & LimitCommands;

  constructor(
    url: string,
    reportFailure: FailureSink,
    private readonly prefix = "sanyao:",
    timeoutMs = 1000,
  ) {
    const redis = new Redis(url, {
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(100 * times, 2000),
    });
    // The client keeps reconnecting; each failed connection is reported (commands fail on their own, as -11).
    redis.on("error", (err) => reportFailure("redis", err));
    redis.defineCommand("sanyaoAdmit", { numberOfKeys: 1, lua: ADMIT });
    redis.defineCommand("sanyaoAttempt", { lua: ATTEMPT });
    redis.defineCommand("sanyaoReserve", { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand("sanyaoTouch", { numberOfKeys: 1, lua: TOUCH });
    this.redis = redis as Redis & LimitCommands;
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw new UnavailableError("redis", err);
    }
  }

  async admit(key: string, limit: number, nowMs: number): Promise<boolean> {
    const second = Math.floor(nowMs / 1000);
    const n = await this.run(() => this.redis.sanyaoAdmit(`${this.prefix}rate:${key}:${second}`));
    return n <= limit;
  }

  async attempt(keys: readonly string[], cap: number, day: string): Promise<boolean> {
    const full = keys.map((k) => `${this.prefix}daily:${day}:${k}`);
    return (await this.run(() => this.redis.sanyaoAttempt(full.length, ...full, cap))) === 1;
  }

  async reserve(key: string, amount: number, cap: number, base: () => Promise<number>): Promise<boolean> {
    const full = `${this.prefix}spend:${key}`;
    // The ledger is read only when Redis does not know the key yet.
    let n = await this.run(() => this.redis.sanyaoReserve(full, amount, cap, ""));
    if (n === -1) {
      const seeded = await base();
      n = await this.run(() => this.redis.sanyaoReserve(full, amount, cap, String(seeded)));
    }
    return n === 1;
  }

  async release(key: string, amount: number): Promise<void> {
    await this.run(() => this.redis.decrby(`${this.prefix}spend:${key}`, amount));
  }

  async touch(key: string, member: string, nowMs: number, windowMs: number): Promise<number> {
    return this.run(() => this.redis.sanyaoTouch(`${this.prefix}active:${key}`, nowMs, member, windowMs));
  }

  async ping(): Promise<void> {
    await this.run(() => this.redis.ping());
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
