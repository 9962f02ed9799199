/**
 * Limits shared by the worker processes of one embedded server (`serve --workers N`): the primary keeps the
 * in-process counters and answers the workers over the cluster IPC channel, so counts stay exact across them.
 */
import type { Worker } from "node:cluster";
import type { DailyCounter, RateLimiter } from "./contract";
import { MemoryDailyCounter, MemoryRateLimiter } from "./memory";

type LimitRequest =
  | { sanyaoLimit: number; op: "admit"; key: string; limit: number; nowMs: number }
  | { sanyaoLimit: number; op: "attempt"; keys: string[]; cap: number; day: string };
interface LimitReply {
  sanyaoLimitReply: number;
  ok: boolean;
}

/** Primary side: one set of counters for every worker. */
export function serveLimits(worker: Worker, rate: RateLimiter = sharedRate, daily: DailyCounter = sharedDaily): void {
  worker.on("message", async (msg: LimitRequest) => {
    if (typeof msg !== "object" || msg === null || typeof msg.sanyaoLimit !== "number") return;
    const ok = msg.op === "admit" ? await rate.admit(msg.key, msg.limit, msg.nowMs) : await daily.attempt(msg.keys, msg.cap, msg.day);
    const reply: LimitReply = { sanyaoLimitReply: msg.sanyaoLimit, ok };
    if (worker.isConnected()) worker.send(reply);
  });
}
const sharedRate = new MemoryRateLimiter();
const sharedDaily = new MemoryDailyCounter();

/** Worker side: both limits, asked of the primary. */
export class IpcLimits implements RateLimiter, DailyCounter {
  private next = 1;
  private readonly pending = new Map<number, (ok: boolean) => void>();

  constructor() {
    process.on("message", (msg: LimitReply) => {
      if (typeof msg !== "object" || msg === null || typeof msg.sanyaoLimitReply !== "number") return;
      this.pending.get(msg.sanyaoLimitReply)?.(msg.ok);
      this.pending.delete(msg.sanyaoLimitReply);
    });
  }

  private ask(request: Omit<LimitRequest, "sanyaoLimit"> & { op: LimitRequest["op"] }): Promise<boolean> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      process.send!({ ...request, sanyaoLimit: id }, undefined, undefined, (err) => {
        if (err) {
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  admit(key: string, limit: number, nowMs: number): Promise<boolean> {
    return this.ask({ op: "admit", key, limit, nowMs } as Omit<LimitRequest, "sanyaoLimit">);
  }

  attempt(keys: readonly string[], cap: number, day: string): Promise<boolean> {
    return this.ask({ op: "attempt", keys: [...keys], cap, day } as Omit<LimitRequest, "sanyaoLimit">);
  }
}
