/**
 * The server's own afterAnswer hook (call/hooks.ts): once an answer is written, one log line, the metrics and one
 * audit row. The action's audit detail arrives already masked and is passed on as it is; a trace id, the caller's
 * free text, only when shaped like an id.
 */
import type { AnsweredCall, CallHooks } from "../call/hooks";
import type { AuditRows } from "../store/ports";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";

export interface AfterResponseDeps {
  logger: Logger;
  metrics: Metrics;
  audit: AuditRows;
}

const TRACE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function afterResponse(deps: AfterResponseDeps): Required<CallHooks<unknown>>["afterAnswer"] {
  const { logger, metrics, audit } = deps;
  return (outcome: AnsweredCall, at, latencyUs, traceId) => {
    metrics.observe(outcome.action, outcome.code, outcome.billable, outcome.audit?.variant, outcome.signal, latencyUs / 1e6);
    logger.info(
      {
        requestId: outcome.requestId,
        traceId: traceId !== undefined && TRACE_ID.test(traceId) ? traceId : undefined,
        service: outcome.service,
        action: outcome.action,
        code: outcome.code,
        billable: outcome.billable,
        accountId: outcome.caller?.accountId,
        secretId: outcome.caller?.secretId,
        signature: outcome.caller?.signature,
        test: outcome.caller?.test || undefined,
        // the test kit's scenario that took the call (its id), under the name operators know
        scenario: outcome.takenBy,
        ...outcome.audit,
        latencyUs,
      },
      "request",
    );
    // Queued for the next commit; a row that cannot be written is reported by the store (counted and logged).
    audit.append({
      at,
      requestId: outcome.requestId,
      accountId: outcome.caller?.accountId,
      secretId: outcome.caller?.secretId,
      action: outcome.action,
      code: outcome.code,
      detail: outcome.audit,
      latencyUs,
      test: outcome.caller?.test,
      scenario: outcome.takenBy,
      cache: outcome.cache,
    });
  };
}
