/**
 * The decryption-failure budget: the encrypted fields that fail to open (or open to a value not well formed) are
 * counted per SecretId in fixed windows, aligned on the clock; once `limit` of them fall in one window, that key's
 * encrypted calls are refused until the window ends. AES-256-CBC has no integrity and the caller chooses the IV:
 * every probe at a captured field that does not open well formed costs a failure, and (cbc-pins.ts) a block opens
 * under one predecessor only for a window after it was first seen, so a probe that would open well formed is refused
 * as a failure too.
 * The verdict is reached after the fields are opened, in one atomic step with the count (limits/contract.ts): calls
 * sent together cannot all pass the check before any is counted, and a call refused by the budget answers nothing
 * of what its opening found.
 */
import type { BlockPin, OpeningJudge } from "../limits/contract";

export interface DecryptBudgetPolicy {
  /** failures per SecretId per window (SANYAO_DECRYPT_FAILURE_LIMIT) */
  limit: number;
  /** SANYAO_DECRYPT_FAILURE_WINDOW_S, in ms; also how long a block's pin holds */
  windowMs: number;
}

export type BudgetVerdict = "refused" | "failed" | "opened";

export class DecryptFailureBudget {
  /** the keys this process saw spend their budget, and in which window: refused before any work is done for them */
  private readonly spentIn = new Map<string, number>();

  constructor(
    private readonly judge: OpeningJudge,
    private readonly policy: DecryptBudgetPolicy,
    /** every failure counted (a metric), and the one that spends the budget (a log line, a metric): SecretId only */
    private readonly events: { failed(): void; exhausted(secretId: string): void },
  ) {}

  /** whether this process already knows the key's budget spent in the window of `nowMs` (counts only grow in one) */
  knownSpent(secretId: string, nowMs: number): boolean {
    return this.spentIn.get(secretId) === this.windowOf(nowMs);
  }

  /** the verdict on one call's openings: `opened`, every field opened well formed; `pins`, its AES-CBC blocks */
  async verdict(secretId: string, nowMs: number, opened: boolean, pins: readonly BlockPin[]): Promise<BudgetVerdict> {
    const { limit, windowMs } = this.policy;
    const v = await this.judge.judge({ key: keyOf(secretId), limit, windowMs, nowMs, opened, pins, pinTtlMs: windowMs });
    if (v.kind === "refused") this.noteSpent(secretId, nowMs);
    if (v.kind !== "failed") return v.kind;
    this.events.failed();
    if (v.failures >= limit) this.noteSpent(secretId, nowMs);
    if (v.failures === limit) this.events.exhausted(secretId);
    return "failed";
  }

  private windowOf(nowMs: number): number {
    return Math.floor(nowMs / this.policy.windowMs);
  }

  private noteSpent(secretId: string, nowMs: number): void {
    const window = this.windowOf(nowMs);
    if (this.spentIn.size >= MAX_SPENT_KEYS) {
      for (const [key, w] of this.spentIn) if (w < window) this.spentIn.delete(key);
      if (this.spentIn.size >= MAX_SPENT_KEYS) this.spentIn.clear(); // only a shortcut: the judge still refuses
    }
    this.spentIn.set(secretId, window);
  }
}
const MAX_SPENT_KEYS = 10_000;

const keyOf = (secretId: string) => `decrypt:${secretId}`;
