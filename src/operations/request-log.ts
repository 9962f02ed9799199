/**
 * The last calls this instance answered, for tests that assert what their code sent: names, safe facts and the
 * outcome, never a value. A bounded ring in memory, kept while the operations API is on; each instance (and each
 * --workers process) keeps its own. Kept in columns of strings and numbers, not an object per call: entries
 * outlive a young-generation collection, and objects promoted by the thousand would cost every call.
 */
import type { AnsweredCall } from "../call/hooks";

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
  /** this process's count of calls logged, this one included: `after` asks for the calls past a seq */
  seq: number;
}

/** Which calls a listing wants: all given filters must match; `result` matches the Result or the error code. */
export interface RequestFilter {
  accountId?: string;
  secretId?: string;
  action?: string;
  result?: string;
  /** only calls logged after this seq */
  after?: number;
}

export const REQUEST_LOG_SIZE = 1000;

const FAILED = 1;
const BILLABLE = 2;
const TEST = 4;

export class RequestLog {
  private readonly atMs: Float64Array;
  private readonly latencyUs: Float64Array;
  private readonly flags: Uint8Array;
  private readonly seqs: Float64Array;
  /** calls logged since start (clear() keeps counting, so a seq is never given twice) */
  private seq = 0;
  private readonly text: Array<Array<string | undefined>>;
  /** joined name lists, shared: the same few lists come again and again */
  private readonly lists = new Map<string, string>();
  private count = 0;
  private next = 0;

  constructor(private readonly size = REQUEST_LOG_SIZE) {
    this.atMs = new Float64Array(size);
    this.latencyUs = new Float64Array(size);
    this.flags = new Uint8Array(size);
    this.seqs = new Float64Array(size);
    // requestId, accountId, secretId, action, code, scenario, signatureMethod, params, verifyMode, encrypted
    this.text = Array.from({ length: 10 }, () => new Array<string | undefined>(size).fill(undefined));
  }

  private shared(list: readonly string[] | undefined): string | undefined {
    if (list === undefined) return undefined;
    const joined = list.join(",");
    const known = this.lists.get(joined);
    if (known !== undefined) return known;
    if (this.lists.size < 1000) this.lists.set(joined, joined);
    return joined;
  }

  record(outcome: AnsweredCall, atMs: number, latencyUs: number): void {
    const i = this.next;
    const failed = outcome.transport !== undefined || outcome.failed;
    this.atMs[i] = atMs;
    this.latencyUs[i] = latencyUs;
    this.seqs[i] = ++this.seq;
    this.flags[i] = (failed ? FAILED : 0) | (outcome.billable ? BILLABLE : 0) | (outcome.caller?.test ? TEST : 0);
    const values = [
      outcome.requestId,
      outcome.caller?.accountId,
      outcome.caller?.secretId,
      outcome.action,
      outcome.code,
      outcome.takenBy,
      outcome.call?.signatureMethod,
      this.shared(outcome.call?.params),
      outcome.call?.facts?.verifyMode,
      this.shared(outcome.call?.facts?.encrypted),
    ];
    for (let c = 0; c < values.length; c++) {
      const column = this.text[c];
      if (column) column[i] = values[c];
    }
    this.next = (i + 1) % this.size;
    this.count = Math.min(this.count + 1, this.size);
  }

  private entry(i: number): LoggedCall {
    const [requestId, accountId, secretId, action, code, scenario, signatureMethod, params, verifyMode, encrypted] = this.text.map(
      (c) => c[i],
    );
    const flags = this.flags[i] ?? 0;
    const failed = (flags & FAILED) !== 0;
    return {
      at: new Date(this.atMs[i] ?? 0).toISOString(),
      requestId: requestId ?? "",
      accountId,
      secretId,
      test: (flags & TEST) !== 0 || undefined,
      action,
      params: params ? params.split(",") : [],
      verifyMode,
      encrypted: encrypted?.split(","),
      signatureMethod,
      result: failed || code === "OK" ? undefined : code,
      error: failed ? code : undefined,
      billable: (flags & BILLABLE) !== 0,
      scenario,
      latencyMs: Math.round((this.latencyUs[i] ?? 0) / 100) / 10,
      seq: this.seqs[i] ?? 0,
    };
  }

  private matches(i: number, f: RequestFilter): boolean {
    const [, accountId, secretId, action, code] = this.text.map((c) => c[i]);
    return (
      (f.accountId === undefined || accountId === f.accountId) &&
      (f.secretId === undefined || secretId === f.secretId) &&
      (f.action === undefined || action === f.action) &&
      (f.result === undefined || code === f.result)
    );
  }

  /** the newest `limit` calls that match, oldest first; optionally of one account */
  last(limit: number, filter: string | RequestFilter = {}): LoggedCall[] {
    const f = typeof filter === "string" ? { accountId: filter } : filter;
    const out: LoggedCall[] = [];
    for (let k = 1; k <= this.count && out.length < limit; k++) {
      const i = (this.next - k + this.size) % this.size;
      if (f.after !== undefined && (this.seqs[i] ?? 0) <= f.after) break;
      if (this.matches(i, f)) out.push(this.entry(i));
    }
    return out.reverse();
  }

  /** the seq of the newest call logged (0: none yet) */
  get lastSeq(): number {
    return this.seq;
  }

  /** the newest call logged with this RequestId, if the log still holds it */
  find(requestId: string): LoggedCall | undefined {
    for (let k = 1; k <= this.count; k++) {
      const i = (this.next - k + this.size) % this.size;
      if (this.text[0]?.[i] === requestId) return this.entry(i);
    }
    return undefined;
  }

  clear(): void {
    this.count = 0;
    this.next = 0;
    for (const column of this.text) column.fill(undefined);
  }
}
