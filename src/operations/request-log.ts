/**
 * The last calls this instance answered, for tests that assert what their code sent: names, safe facts and the
 * outcome, never a value. A bounded ring in memory; each instance (and each --workers process) keeps its own.
 */
import type { ApiOutcome } from "../api3/pipeline";

export interface LoggedCall {
  at: string;
  requestId: string;
  accountId?: string;
  secretId?: string;
  test?: boolean;
  action?: string;
  params: string[];
  verifyMode?: string;
  encrypted?: readonly string[];
  signatureMethod?: string;
  /** the answer's Result, for actions that have one */
  result?: string;
  /** the API error code */
  error?: string;
  billable: boolean;
  scenario?: string;
  latencyMs: number;
}

export const REQUEST_LOG_SIZE = 1000;

/**
 * As kept: references to the outcome's parts, formatted only when read (the request path pays for a push, not a
 * format). Never the envelope: a KMS answer carries plaintext.
 */
interface Kept {
  atMs: number;
  latencyUs: number;
  failed: boolean;
  outcome: Pick<ApiOutcome, "requestId" | "caller" | "action" | "call" | "code" | "billable" | "scenario">;
}

function shown({ atMs, outcome, latencyUs, failed }: Kept): LoggedCall {
  return {
    at: new Date(atMs).toISOString(),
    requestId: outcome.requestId,
    accountId: outcome.caller?.accountId,
    secretId: outcome.caller?.secretId,
    test: outcome.caller?.test || undefined,
    action: outcome.action,
    params: outcome.call?.params ?? [],
    verifyMode: outcome.call?.facts?.verifyMode,
    encrypted: outcome.call?.facts?.encrypted,
    signatureMethod: outcome.call?.signatureMethod,
    result: failed || outcome.code === "OK" ? undefined : outcome.code,
    error: failed ? outcome.code : undefined,
    billable: outcome.billable,
    scenario: outcome.scenario,
    latencyMs: Math.round(latencyUs / 100) / 10,
  };
}

export class RequestLog {
  private readonly entries: Kept[] = [];
  private next = 0;

  constructor(private readonly size = REQUEST_LOG_SIZE) {}

  record(outcome: ApiOutcome, atMs: number, latencyUs: number): void {
    const { requestId, caller, action, call, code, billable, scenario } = outcome;
    const failed = outcome.transport !== undefined || "Error" in outcome.envelope.Response;
    const entry: Kept = { atMs, latencyUs, failed, outcome: { requestId, caller, action, call, code, billable, scenario } };
    if (this.entries.length < this.size) this.entries.push(entry);
    else this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.size;
  }

  /** the newest `limit` calls, oldest first; optionally of one account */
  last(limit: number, accountId?: string): LoggedCall[] {
    const ordered =
      this.entries.length < this.size ? this.entries : [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)];
    const chosen = accountId === undefined ? ordered : ordered.filter((e) => e.outcome.caller?.accountId === accountId);
    return chosen.slice(Math.max(0, chosen.length - limit)).map(shown);
  }

  clear(): void {
    this.entries.length = 0;
    this.next = 0;
  }
}
