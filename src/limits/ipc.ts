/**
 * Limits shared by the worker processes of one embedded server (`serve --workers N`): the primary keeps the
 * in-process counters and answers the workers over the cluster IPC channel, so counts stay exact across them.
 */
import type { Worker } from "node:cluster";
import type { DailyCounter, RateLimiter } from "./contract";
import { UnavailableError } from "../common/unavailable";

type LimitRequest = LimitQuestion & { sanyaoLimit: number };
type LimitQuestion =
  | { op: "admit"; key: string; limit: number; nowMs: number }
  | { op: "attempt"; keys: string[]; cap: number; day: string };
interface LimitReply {
  sanyaoLimitReply: number;
  ok: boolean;
  /** the primary's counters failed: the worker answers -11 */
  error?: string;
}

/** Primary side: one set of counters for every worker. */
export function serveLimits(worker: Worker, rate: RateLimiter, daily: DailyCounter): void {
  worker.on("message", async (msg: LimitRequest) => {
    if (typeof msg !== "object" || msg === null || typeof msg.sanyaoLimit !== "number") return;
    let reply: LimitReply;
    try {
      const ok = msg.op === "admit" ? await rate.admit(msg.key, msg.limit, msg.nowMs) : await daily.attempt(msg.keys, msg.cap, msg.day);
      reply = { sanyaoLimitReply: msg.sanyaoLimit, ok };
    } catch (err) {
      reply = { sanyaoLimitReply: msg.sanyaoLimit, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (worker.isConnected()) worker.send(reply);
  });
}

/**
 * Worker side: both limits, asked of the primary. A question the primary does not answer within `timeoutMs`
 * fails as an unavailable dependency (-11, uncharged): a worker never waits on it for ever.
 */
export class IpcLimits implements RateLimiter, DailyCounter {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (ok: boolean) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly timeoutMs = 1000) {
    process.on("message", (msg: LimitReply) => {
      if (typeof msg !== "object" || msg === null || typeof msg.sanyaoLimitReply !== "number") return;
      const p = this.pending.get(msg.sanyaoLimitReply);
      if (!p) return; // answered after its time: the request has had its -11
      clearTimeout(p.timer);
      this.pending.delete(msg.sanyaoLimitReply);
      if (msg.error !== undefined) p.reject(new UnavailableError("counters", new Error(msg.error)));
      else p.resolve(msg.ok);
    });
  }

  private ask(request: LimitQuestion): Promise<boolean> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const fail = (cause: unknown) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        reject(new UnavailableError("counters", cause));
      };
      const timer = setTimeout(() => fail(new Error(`the primary process did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      process.send!({ ...request, sanyaoLimit: id }, undefined, undefined, (err) => err && fail(err));
    });
  }

  admit(key: string, limit: number, nowMs: number): Promise<boolean> {
    return this.ask({ op: "admit", key, limit, nowMs });
  }

  attempt(keys: readonly string[], cap: number, day: string): Promise<boolean> {
    return this.ask({ op: "attempt", keys: [...keys], cap, day });
  }
}
