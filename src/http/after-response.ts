/**
 * What follows every answer once it is written: one log line, the metrics, one audit row. The action's audit
 * detail arrives already masked and is passed on as it is; a trace id, the caller's free text, only when shaped
 * like an id.
 */
import type { ApiOutcome } from "../api3/pipeline";
import type { RequestLog } from "../operations/request-log";
import type { AuditRows } from "../store/ports";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";

export interface AfterResponseDeps {
  logger: Logger;
  metrics: Metrics;
  audit: AuditRows;
  clock: () => number;
  /** the operations API's log of the last calls */
  requests?: RequestLog;
}

export type AfterResponse = (outcome: ApiOutcome, traceId: string | undefined, latencyUs: number) => void;

const TRACE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function afterResponse(deps: AfterResponseDeps): AfterResponse {
  const { logger, metrics, audit, clock, requests } = deps;
  return (outcome, traceId, latencyUs) => {
    const at = clock();
    requests?.record(outcome, at, latencyUs);
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
        scenario: outcome.scenario,
        ...outcome.audit,
        latencyUs,
      },
      "request",
    );
    audit
      .append({
        at,
        requestId: outcome.requestId,
        accountId: outcome.caller?.accountId,
        secretId: outcome.caller?.secretId,
        action: outcome.action,
        code: outcome.code,
        detail: outcome.audit,
        latencyUs,
        test: outcome.caller?.test,
        scenario: outcome.scenario,
        cache: outcome.cache,
      })
      .catch((err: unknown) => {
        metrics.failure("audit");
        logger.error({ err, requestId: outcome.requestId }, "audit write failed");
      });
  };
}
