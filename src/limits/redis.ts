/**
 * Limits shared by every instance, in Redis (ioredis): each check is one atomic script, one round trip.
 * Keys carry keyed hashes only and expire by themselves. Commands fail at once while Redis is away
 * (no offline queue) and the client reconnects on its own.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { FailureSink } from "../common/failures";
import { UnavailableError } from "../common/unavailable";
import type {
  ActiveMembers,
  DailyCounter,
  NonceVerdict,
  OpeningJudge,
  SeenOnce,
  OpeningQuestion,
  OpeningVerdict,
  RateLimiter,
  Reservation,
  SpendCounter,
} from "./contract";

// Count this request in its one-second window (a second of the instances' clock, not Redis's). The key outlives its
// second by far, so instances whose clocks differ by a few seconds, or a clock held still, still count one window.
const ADMIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 10000) end
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

// A group's nonces: a sorted set scored by when each may be forgotten, on the instances' clock. Forget the ended
// ones, then refuse a remembered member (0) or a full group (-1, nothing evicted), else note it (1). The set itself
// expires after its last member's end.
const NONCE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

// A budget's counter (KEYS[1]) lives with its generation (KEYS[2]): a token set each time the counter is seeded from
// the ledger, so a reservation can tell the counter that holds it from one seeded after it (Redis restarted, the key
// was evicted). While the counter is missing and being seeded (KEYS[4]: the ledger is being read), charges kept
// meanwhile are noted apart (KEYS[3]): that ledger read may predate them. Keys live 40 days.
const BUDGET_TTL_S = 3456000;
const SEEDING_MS = 30_000;

// Seed the total from the ledger when the counter is missing, then set the amount aside only if it stays within
// the cap. Returns {1 | 0, generation}, or {-1} when the counter is missing and no base was given: read the ledger.
const RESERVE = `
if redis.call('TTL', KEYS[1]) == -1 then
  -- no expiry: made by an older release on a missing key, it forgot what the ledger says; seed it again
  redis.call('DEL', KEYS[1])
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[3] == '' then
    redis.call('SET', KEYS[4], '1', 'PX', ${SEEDING_MS})
    return {-1, ''}
  end
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ${BUDGET_TTL_S})
  redis.call('INCRBY', KEYS[1], redis.call('GET', KEYS[3]) or '0')
  redis.call('SET', KEYS[2], ARGV[4], 'EX', ${BUDGET_TTL_S})
  redis.call('DEL', KEYS[3], KEYS[4])
end
local gen = redis.call('GET', KEYS[2]) or ''
if tonumber(redis.call('GET', KEYS[1])) + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, gen} end
redis.call('INCRBY', KEYS[1], ARGV[1])
return {1, gen}`;

// An uncharged call gives back its amount to the counter that holds it: never to one seeded since (the ledger
// holds no reservations), and never by creating a counter (that would forget what the ledger says was spent).
const RELEASE = `
if redis.call('EXISTS', KEYS[1]) == 1 and (redis.call('GET', KEYS[2]) or '') == ARGV[2] then
  redis.call('DECRBY', KEYS[1], ARGV[1])
end
return 1`;

// A charged call stays counted. A counter seeded since it was set aside may have read the ledger before this charge
// was in it: add it. A missing counter being seeded right now: note it apart, for the seed to add.
const KEEP = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    redis.call('INCRBY', KEYS[3], ARGV[1])
    redis.call('PEXPIRE', KEYS[3], ${SEEDING_MS})
  end
elseif (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then
  redis.call('INCRBY', KEYS[1], ARGV[1])
end
return 1`;

// Note one member active now, forget those not seen within the window, and count who is left.
const TOUCH = `
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])`;

// One encrypted call's verdict (contract.ts, OpeningJudge). KEYS[1]: the key's failures in this window, a key that
// outlives the window once over, then goes; KEYS[2..]: the blocks' pins, each "predecessor expiresAt" (the instances'
// clock, as the windows are) and gone with it. ARGV: limit, the window's key's life, now, a pin's life, opened, then
// each pin's predecessor. Returns -1 refused, 0 opened, else the failures counted, this one included.
const JUDGE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return -1 end
local now = tonumber(ARGV[3])
local live = {}
local clash = false
for i = 2, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held then
    local at = string.find(held, ' ', 1, true)
    if at and tonumber(string.sub(held, at + 1)) > now then
      live[i] = true
      if string.sub(held, 1, at - 1) ~= ARGV[i + 4] then clash = true end
    end
  end
end
if not clash then
  local ttl = tonumber(ARGV[4])
  for i = 2, #KEYS do
    if not live[i] then redis.call('SET', KEYS[i], ARGV[i + 4] .. ' ' .. (now + ttl), 'PX', ttl) end
  end
  if ARGV[5] == '1' then return 0 end
end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n`;

interface LimitCommands {
  sanyaoJudge(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
  sanyaoTouch(key: string, nowMs: number, member: string, windowMs: number): Promise<number>;
  sanyaoNonce(key: string, member: string, nowMs: number, untilMs: number, cap: number): Promise<number>;
  sanyaoReserve(
    counter: string,
    gen: string,
    late: string,
    seeding: string,
    amount: number,
    cap: number,
    base: string,
    newGen: string,
  ): Promise<unknown>;
  sanyaoRelease(counter: string, gen: string, amount: number, reservedGen: string): Promise<number>;
  sanyaoKeep(counter: string, gen: string, late: string, seeding: string, amount: number, reservedGen: string): Promise<number>;
  sanyaoAdmit(key: string): Promise<number>;
  sanyaoAttempt(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
}

export class RedisLimits implements RateLimiter, DailyCounter, SpendCounter, ActiveMembers, OpeningJudge, SeenOnce {
  private readonly redis: Redis & LimitCommands;

  constructor(
    url: string,
    private readonly reportFailure: FailureSink,
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
    redis.defineCommand("sanyaoReserve", { numberOfKeys: 4, lua: RESERVE });
    redis.defineCommand("sanyaoRelease", { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand("sanyaoKeep", { numberOfKeys: 4, lua: KEEP });
    redis.defineCommand("sanyaoTouch", { numberOfKeys: 1, lua: TOUCH });
    redis.defineCommand("sanyaoJudge", { lua: JUDGE });
    redis.defineCommand("sanyaoNonce", { numberOfKeys: 1, lua: NONCE });
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

  async reserve(key: string, amount: number, cap: number, base: () => Promise<number>): Promise<Reservation | undefined> {
    const counter = `${this.prefix}spend:${key}`;
    const keys = [counter, `${counter}:gen`, `${counter}:late`, `${counter}:seeding`] as const;
    // The ledger is read only when Redis does not know the key (first use, or lost since).
    let reply = await this.run(() => this.redis.sanyaoReserve(...keys, amount, cap, "", ""));
    if (reservedAs(reply) === -1) {
      const seeded = await base();
      const newGen = randomBytes(8).toString("base64url");
      reply = await this.run(() => this.redis.sanyaoReserve(...keys, amount, cap, String(seeded), newGen));
    }
    if (reservedAs(reply) !== 1) return undefined;
    const gen = generationOf(reply);
    return {
      release: async () => {
        await this.run(() => this.redis.sanyaoRelease(keys[0], keys[1], amount, gen));
      },
      keep: async () => {
        await this.redis.sanyaoKeep(...keys, amount, gen).catch((err: unknown) => this.reportFailure("redis", err));
      },
    };
  }

  async firstUse(group: string, member: string, nowMs: number, untilMs: number, cap: number): Promise<NonceVerdict> {
    const n = await this.run(() => this.redis.sanyaoNonce(`${this.prefix}nonces:${group}`, member, nowMs, untilMs, cap));
    return n === 1 ? "fresh" : n === 0 ? "replayed" : "full";
  }

  async touch(key: string, member: string, nowMs: number, windowMs: number): Promise<number> {
    return this.run(() => this.redis.sanyaoTouch(`${this.prefix}active:${key}`, nowMs, member, windowMs));
  }

  async judge(q: OpeningQuestion): Promise<OpeningVerdict> {
    const failures = `${this.prefix}failures:${q.key}:${q.windowMs}:${Math.floor(q.nowMs / q.windowMs)}`;
    const keys = [failures, ...q.pins.map((p) => `${this.prefix}pin:${p.block}`)];
    const args = [q.limit, 2 * q.windowMs, q.nowMs, q.pinTtlMs, q.opened ? "1" : "0", ...q.pins.map((p) => p.predecessor)];
    return verdictOf(await this.run(() => this.redis.sanyaoJudge(keys.length, ...keys, ...args)));
  }

  async ping(): Promise<void> {
    await this.run(() => this.redis.ping());
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** The reserve script's verdict: 1 set aside, 0 refused, -1 the ledger must be read. */
function reservedAs(reply: unknown): number {
  const verdict = Array.isArray(reply) ? reply[0] : undefined;
  if (typeof verdict !== "number") throw new UnavailableError("redis", new Error("unexpected reply to the budget script"));
  return verdict;
}

/** The generation of the counter a reservation was set aside in. */
function generationOf(reply: unknown): string {
  const gen = Array.isArray(reply) ? reply[1] : undefined;
  return typeof gen === "string" ? gen : "";
}

/** The judge script's reply: -1 refused, 0 opened, else the failures counted. */
function verdictOf(reply: number): OpeningVerdict {
  if (reply < 0) return { kind: "refused" };
  return reply === 0 ? { kind: "opened" } : { kind: "failed", failures: reply };
}
