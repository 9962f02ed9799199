/**
 * The decryption-failure budget: the encrypted fields that fail to open (or open to a value not well formed) are
 * counted per SecretId in fixed windows, aligned on the clock; once `limit` of them fall in one window, that key's
 * encrypted calls are refused until the window ends. AES-256-CBC has no integrity and the caller chooses the IV:
 * every probe at a captured field costs a failure, so at most `limit` probes a window can be made with one key.
 */
import type { FailureCounter } from "../limits/contract";

export interface DecryptBudgetPolicy {
  /** failures per SecretId per window (SANYAO_DECRYPT_FAILURE_LIMIT) */
  limit: number;
  /** SANYAO_DECRYPT_FAILURE_WINDOW_S, in ms */
  windowMs: number;
}

export class DecryptFailureBudget {
  constructor(
    private readonly counter: FailureCounter,
    private readonly policy: DecryptBudgetPolicy,
    /** every failure counted (a metric), and the one that spends the budget (a log line, a metric): SecretId only */
    private readonly events: { failed(): void; exhausted(secretId: string): void },
  ) {}

  /** whether the key has spent its budget in the window of `nowMs` */
  async spent(secretId: string, nowMs: number): Promise<boolean> {
    return (await this.counter.failures(keyOf(secretId), this.policy.windowMs, nowMs)) >= this.policy.limit;
  }

  async fail(secretId: string, nowMs: number): Promise<void> {
    const n = await this.counter.addFailure(keyOf(secretId), this.policy.windowMs, nowMs);
    this.events.failed();
    if (n === this.policy.limit) this.events.exhausted(secretId);
  }
}

const keyOf = (secretId: string) => `decrypt:${secretId}`;
