/**
 * The hooks of one call's path: what may act on a call from outside the core (the test kit, the request log, the
 * log line, metrics and audit) and when. One contract for every protocol — API 3.0 today, Alibaba's RPC next — so
 * it names no protocol's headers or errors. The hooks run in this order (as fastify documents its own):
 *
 *   transport      size caps; the body is read only when asked for
 *   protocol       method, content type, common parameters
 *   1. beforeAuthentication(call)   may move this call's clock: for the signature's window and the action's day
 *   protocol       authentication
 *   2. onRefusedSignature(refusal)  a call refused at authentication: what was received, to diagnose it; it never
 *                                   changes the answer
 *   protocol       routing, parameters by the action's schema
 *   action         admission: what every answer of the action would have met — account state, the per-action
 *                  rate limit, encrypted fields opened, the daily cap where the inputs are well formed enough to
 *                  count, and in gateway mode the team's daily cap and budget reservation. A refusal here (an
 *                  error, or an answer such as the daily-cap code) is the answer: beforeAnswer never sees it.
 *   3. beforeAnswer(call)           an admitted call only: may answer instead (a Result of the action's table,
 *                                   charged through the action's own charge step), fail it with an error code of
 *                                   the protocol, fault the transport (reset, hang), or delay the action's answer
 *   action         answer: a pre-check's rejection (-7, say), or the source and the charge (before it is sent)
 *   transport      the answer is written (or the fault done)
 *   4. afterAnswer(call)            the log line, metrics, the audit row, the request log
 *
 * Admission before beforeAnswer holds by construction: the protocol hands beforeAnswer only what an action's
 * admission admitted (answer-phase.ts). A hook that returns undefined synchronously costs its call no wait.
 */
import type { AuditDetail } from "../common/audit";

/**
 * A call before authentication: the key it names, unchecked, and its action. `secretId` here and below is the id
 * of the caller's key in any protocol (API 3.0's SecretId, Alibaba's AccessKeyId).
 */
export interface KeyedCall {
  secretId: string;
  action: string | undefined;
  /** the server clock, ms */
  now: number;
}

/** How far a hook moves one call's clock, and what moved it (for the log and audit). */
export interface ClockShift {
  by: string;
  ms: number;
}

/** The people a call is about, as sent in plaintext: what a hook may match a call on. */
export interface CallSubjects {
  phone?: string;
  idCard?: string;
}

/** An admitted call, as beforeAnswer sees it. */
export interface AdmittedCall {
  accountId: string;
  secretId: string;
  action: string;
  /** asked only when needed: a hook that matches on no subject never pays for them */
  subjects: () => CallSubjects;
  /** the server clock (a moved clock included), ms */
  now: number;
}

/** What beforeAnswer may make of an admitted call. */
export type Intervention =
  /** a Result of the action's table, in place of its own answer; charged as the table says */
  | { kind: "result"; result: string }
  /** an error code of the call's protocol, in its real envelope */
  | { kind: "error"; code: string }
  /** the action's own answer, this much later */
  | { kind: "delay"; ms: number }
  /** no answer: the connection is reset, or left unanswered */
  | { kind: "reset" }
  | { kind: "hang" };

/** An intervention and what made it (for the log, the audit row and the request log). */
export interface TakenCall {
  by: string;
  intervention: Intervention;
}

/** A daily cap was reached; the verification source failed or was away. */
export type OutcomeSignal = "daily-cap" | "source-failure";

/** Safe facts about a call for the request log: never a value a caller could be identified by. */
export interface CallFacts {
  verifyMode?: string;
  /** the names of the fields sent encrypted */
  encrypted?: readonly string[];
}

/** What the request log keeps of a call besides its outcome: names and safe facts only, never a value. */
export interface CallRecord {
  /** the parameter names sent (the action's, as validated; else the top-level names received); shared, not to be changed */
  params: readonly string[];
  facts?: CallFacts;
  signatureMethod?: string;
}

/** A call once answered, as afterAnswer sees it: codes and masked details, never a value sent. */
export interface AnsweredCall {
  requestId: string;
  /** the Result for actions that have one, else the error code, else "OK"; "reset" or "hang" for a fault */
  code: string;
  /** answered with an error of the protocol (not an answer of the action) */
  failed: boolean;
  billable: boolean;
  caller?: { accountId: string; secretId: string; signature: string; test: boolean };
  service?: string;
  action?: string;
  /** the action's audit detail, already masked */
  audit?: AuditDetail;
  signal?: OutcomeSignal;
  call?: CallRecord;
  /** what a hook did to the call (moved its clock, or intervened), by the hook's own id for it */
  takenBy?: string;
  /** a transport fault a hook asked for */
  transport?: "reset" | "hang";
  /** gateway mode's cache of paid answers */
  cache?: "hit" | "miss";
}

export interface CallHooks<Refusal> {
  beforeAuthentication?(call: KeyedCall): Promise<ClockShift | undefined> | undefined;
  onRefusedSignature?(refusal: Refusal): void;
  beforeAnswer?(call: AdmittedCall): Promise<TakenCall | undefined> | undefined;
  afterAnswer?(call: AnsweredCall, atMs: number, latencyUs: number, traceId: string | undefined): void;
}

/**
 * Several sets of hooks as one, each hook in the order the sets are given: the first clock shift and the first
 * intervention win; every refusal and every answer reaches all who listen.
 */
export function combineHooks<R>(...sets: ReadonlyArray<CallHooks<R>>): CallHooks<R> {
  const shifts = sets.flatMap((s) => (s.beforeAuthentication ? [s.beforeAuthentication.bind(s)] : []));
  const refusals = sets.flatMap((s) => (s.onRefusedSignature ? [s.onRefusedSignature.bind(s)] : []));
  const interventions = sets.flatMap((s) => (s.beforeAnswer ? [s.beforeAnswer.bind(s)] : []));
  const answers = sets.flatMap((s) => (s.afterAnswer ? [s.afterAnswer.bind(s)] : []));
  return {
    beforeAuthentication: firstOf(shifts),
    onRefusedSignature:
      refusals.length === 0
        ? undefined
        : (refusal) => {
            for (const hook of refusals) hook(refusal);
          },
    beforeAnswer: firstOf(interventions),
    afterAnswer:
      answers.length === 0
        ? undefined
        : (call, atMs, latencyUs, traceId) => {
            for (const hook of answers) hook(call, atMs, latencyUs, traceId);
          },
  };
}

/** The hooks asked in turn until one answers; a single hook as it is (no extra turn for each call). */
function firstOf<C, T>(hooks: ReadonlyArray<(call: C) => Promise<T | undefined> | undefined>) {
  if (hooks.length <= 1) return hooks[0];
  return async (call: C): Promise<T | undefined> => {
    for (const hook of hooks) {
      const found = await hook(call);
      if (found !== undefined) return found;
    }
    return undefined;
  };
}
