/**
 * Limits shared by the worker processes of one embedded server (`serve --workers N`): the primary keeps the
 * in-process counters and answers the workers over the cluster IPC channel, so counts stay exact across them —
 * the gateway's budget reservations and its active teams too, the decryption failures and the AES-CBC block pins,
 * and Alibaba's nonces (a replay landing on another worker is refused as on the first).
 */
import type { Worker } from "node:cluster";
import type {
  ActiveMembers,
  DailyCounter,
  NonceVerdict,
  OpeningJudge,
  OpeningQuestion,
  OpeningVerdict,
  RateLimiter,
  Reservation,
  SeenOnce,
  SpendCounter,
} from "./contract";
import type { MemorySpendCounter } from "./memory";
import { UnavailableError } from "../common/unavailable";

type LimitRequest = LimitQuestion & { sanyaoLimit: number };
type LimitQuestion =
  | { op: "admit"; key: string; limit: number; nowMs: number }
  | { op: "attempt"; keys: string[]; cap: number; day: string }
  /** `base` (what the ledger says was spent) is sent only when the primary asked for it */
  | { op: "reserve"; key: string; amount: number; cap: number; base?: number }
  | { op: "release"; key: string; amount: number }
  | { op: "touch"; key: string; member: string; nowMs: number; windowMs: number }
  | { op: "judge"; question: OpeningQuestion }
  | { op: "seen"; group: string; member: string; nowMs: number; untilMs: number; cap: number; share?: string };
interface LimitReply {
  sanyaoLimitReply: number;
  ok: boolean;
  /** touch: how many members are active */
  count?: number;
  verdict?: OpeningVerdict;
  /** seen: what the primary's nonce store said */
  seen?: NonceVerdict;
  /** a reservation on a key the primary has not seeded yet: ask again with the ledger's base */
  needsBase?: boolean;
  /** the primary's counters failed: the worker answers -11 */
  error?: string;
}

export interface PrimaryCounters {
  rate: RateLimiter;
  daily: DailyCounter;
  spend: MemorySpendCounter;
  active: ActiveMembers;
  openings: OpeningJudge;
  seen: SeenOnce;
}

async function answer(msg: LimitQuestion, counters: PrimaryCounters): Promise<Omit<LimitReply, "sanyaoLimitReply">> {
  switch (msg.op) {
    case "admit":
      return { ok: await counters.rate.admit(msg.key, msg.limit, msg.nowMs) };
    case "attempt":
      return { ok: await counters.daily.attempt(msg.keys, msg.cap, msg.day) };
    case "reserve": {
      const { base } = msg;
      if (base === undefined && !counters.spend.knows(msg.key)) return { ok: false, needsBase: true };
      return { ok: (await counters.spend.reserve(msg.key, msg.amount, msg.cap, async () => base ?? 0)) !== undefined };
    }
    case "release":
      await counters.spend.release(msg.key, msg.amount);
      return { ok: true };
    case "touch":
      return { ok: true, count: await counters.active.touch(msg.key, msg.member, msg.nowMs, msg.windowMs) };
    case "judge":
      return { ok: true, verdict: await counters.openings.judge(msg.question) };
    case "seen":
      return {
        ok: true,
        seen: await counters.seen.firstUse(
          msg.group,
          msg.member,
          msg.nowMs,
          msg.untilMs,
          msg.cap,
          typeof msg.share === "string" ? msg.share : undefined,
        ),
      };
  }
}

/** Primary side: one set of counters for every worker. */
export function serveLimits(worker: Worker, counters: PrimaryCounters): void {
  worker.on("message", async (msg: LimitRequest) => {
    if (typeof msg !== "object" || msg === null || typeof msg.sanyaoLimit !== "number") return;
    let reply: LimitReply;
    try {
      reply = { sanyaoLimitReply: msg.sanyaoLimit, ...(await answer(msg, counters)) };
    } catch (err) {
      reply = { sanyaoLimitReply: msg.sanyaoLimit, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (worker.isConnected()) worker.send(reply);
  });
}

/**
 * Worker side: the limits and the spend counter, asked of the primary. A question the primary does not answer
 * within `timeoutMs` fails as an unavailable dependency (-11, uncharged): a worker never waits on it for ever.
 */
export class IpcLimits implements RateLimiter, DailyCounter, SpendCounter, ActiveMembers, OpeningJudge, SeenOnce {
  private next = 1;
  private readonly pending = new Map<
    number,
    { resolve: (reply: LimitReply) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }
  >();

  constructor(private readonly timeoutMs = 1000) {
    process.on("message", (msg: LimitReply) => {
      if (typeof msg !== "object" || msg === null || typeof msg.sanyaoLimitReply !== "number") return;
      const p = this.pending.get(msg.sanyaoLimitReply);
      if (!p) return; // answered after its time: the request has had its -11
      clearTimeout(p.timer);
      this.pending.delete(msg.sanyaoLimitReply);
      if (msg.error !== undefined) p.reject(new UnavailableError("counters", new Error(msg.error)));
      else p.resolve(msg);
    });
  }

  private ask(request: LimitQuestion): Promise<LimitReply> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const fail = (cause: unknown) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        reject(new UnavailableError("counters", cause));
      };
      const timer = setTimeout(() => fail(new Error(`the primary process did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (!process.send) return fail(new Error("this process has no primary to ask"));
      process.send({ ...request, sanyaoLimit: id }, undefined, undefined, (err) => err && fail(err));
    });
  }

  async admit(key: string, limit: number, nowMs: number): Promise<boolean> {
    return (await this.ask({ op: "admit", key, limit, nowMs })).ok;
  }

  async attempt(keys: readonly string[], cap: number, day: string): Promise<boolean> {
    return (await this.ask({ op: "attempt", keys: [...keys], cap, day })).ok;
  }

  /**
   * The ledger is read here, by the worker, and only when the primary does not know the key yet. The primary keeps
   * its keys while it runs (and the workers stop with it), so a charged call has nothing to add back.
   */
  async reserve(key: string, amount: number, cap: number, base: () => Promise<number>): Promise<Reservation | undefined> {
    const first = await this.ask({ op: "reserve", key, amount, cap });
    const ok = first.needsBase ? (await this.ask({ op: "reserve", key, amount, cap, base: await base() })).ok : first.ok;
    if (!ok) return undefined;
    return {
      release: async () => {
        await this.ask({ op: "release", key, amount });
      },
      keep: async () => undefined,
    };
  }

  async touch(key: string, member: string, nowMs: number, windowMs: number): Promise<number> {
    return (await this.ask({ op: "touch", key, member, nowMs, windowMs })).count ?? 1;
  }

  async judge(question: OpeningQuestion): Promise<OpeningVerdict> {
    const { verdict } = await this.ask({ op: "judge", question });
    if (!verdict) throw new UnavailableError("counters", new Error("the primary gave no verdict"));
    return verdict;
  }

  async firstUse(group: string, member: string, nowMs: number, untilMs: number, cap: number, share?: string): Promise<NonceVerdict> {
    const { seen } = await this.ask({ op: "seen", group, member, nowMs, untilMs, cap, share });
    if (!seen) throw new UnavailableError("counters", new Error("the primary gave no nonce verdict"));
    return seen;
  }
}
