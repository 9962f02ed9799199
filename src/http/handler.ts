/**
 * node:http in front of the pipeline: hands it the body on demand under the caps of body.ts, writes the
 * always-200 envelope, then hands the outcome to the afterAnswer hook (log line, metrics, audit, request log).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "./log";
import { type BodyBudget, RequestBody } from "./body";
import { type EndpointDeps, endpoints } from "./endpoints";
import { errorOutcome, handleCall, type ApiOutcome, type PipelineDeps } from "../api3/pipeline";
import { isAcsCall } from "../aliyun/authenticate";
import { type AcsDeps, gatewayOutcome, handleAcsCall } from "../aliyun/pipeline";
import type { AnsweredCall } from "../call/hooks";

export const LIMITS = { getHeaderBytes: 32 * 1024, v1BodyBytes: 1024 * 1024, tc3BodyBytes: 10 * 1024 * 1024 };

export interface HttpDeps extends PipelineDeps, EndpointDeps {
  logger: Logger;
  /** request body bytes buffered across all requests in flight */
  bodyBudget: BodyBudget;
  /** false: /metrics and the operations API are on a listener of their own (http/endpoints.ts) */
  operationsHere: boolean;
  /** connections a hook left unanswered on purpose, closed when the server stops */
  hung: Set<Socket>;
  /** Alibaba's protocol (aliyun/), told apart from Tencent's by the request's shape; absent: not served */
  acs?: AcsDeps;
}

function headerBytes(req: IncomingMessage): number {
  let n = (req.method ?? "").length + (req.url ?? "").length + 12;
  for (const part of req.rawHeaders) n += part.length + 2;
  return n;
}

export function createApiHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const others = endpoints(deps, { operations: deps.operationsHere, api: true });
  const afterAnswer = (outcome: AnsweredCall, traceId: string | undefined, started: bigint) =>
    deps.hooks.afterAnswer?.(outcome, deps.clock(), Number((process.hrtime.bigint() - started) / 1000n), traceId);
  return (req, res) => {
    const started = process.hrtime.bigint();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== "/") return others(req, res, path, q === -1 ? "" : url.slice(q + 1));
    const rawQuery = q === -1 ? "" : (url.slice(q + 1).split("#")[0] ?? "");
    const head = { method: req.method ?? "", path, rawQuery, headers: req.headers };
    const acs = deps.acs;
    const serving = acs && isAcsCall(head) ? serveAcs(req, res, acs, rawQuery, started) : serve(req, res, path, rawQuery, started);
    void serving.catch((err) => {
      deps.logger.error({ err }, "request failed outside the pipeline");
      if (!res.headersSent) res.writeHead(500).end();
    });
  };

  /** A fault the test kit asked for, in place of an answer (either protocol): true when it ended the call. */
  function endedByFault(req: IncomingMessage, outcome: AnsweredCall, started: bigint): boolean {
    if (outcome.transport === "reset") {
      // A TCP RST, as a dropped connection reaches a client: no response at all.
      req.socket.resetAndDestroy();
    } else if (outcome.transport === "hang") {
      // No answer ever: the client's own timeout ends it (or the server's stop).
      deps.hung.add(req.socket);
      req.socket.once("close", () => deps.hung.delete(req.socket));
    } else {
      return false;
    }
    afterAnswer(outcome, undefined, started);
    return true;
  }

  /** An Alibaba call: its status and envelope are the protocol's own (aliyun/pipeline.ts). */
  async function serveAcs(req: IncomingMessage, res: ServerResponse, acs: AcsDeps, rawQuery: string, started: bigint) {
    const body = new RequestBody(req, deps.bodyBudget);
    res.once("close", () => body.release());
    const head = { method: req.method ?? "", path: "/", rawQuery, headers: req.headers };
    const outcome =
      (req.method === "GET" && headerBytes(req) > LIMITS.getHeaderBytes) || (req.method === "POST" && body.declared > LIMITS.v1BodyBytes)
        ? gatewayOutcome("RequestSizeLimitExceeded", req.headers.host)
        : await handleAcsCall(head, () => body.read(LIMITS.v1BodyBytes), acs);
    if (endedByFault(req, outcome, started)) return;
    const payload = JSON.stringify(outcome.body);
    const headers: Record<string, string | number> = {
      "content-type": "application/json;charset=utf-8",
      "content-length": Buffer.byteLength(payload),
      "x-acs-request-id": outcome.requestId,
      "x-sanyao-billable": outcome.billable ? "1" : "0",
    };
    if (!body.complete) headers.connection = "close";
    res.writeHead(outcome.status, headers).end(payload);
    afterAnswer(outcome, undefined, started);
  }

  async function serve(req: IncomingMessage, res: ServerResponse, path: string, rawQuery: string, started: bigint) {
    const body = new RequestBody(req, deps.bodyBudget);
    res.once("close", () => body.release());
    let outcome: ApiOutcome;
    const limit = req.headers.authorization !== undefined ? LIMITS.tc3BodyBytes : LIMITS.v1BodyBytes;
    // Size first (§7.1 step 2), from what the headers say: nothing is read to find out.
    if ((req.method === "GET" && headerBytes(req) > LIMITS.getHeaderBytes) || (req.method === "POST" && body.declared > limit)) {
      outcome = errorOutcome("RequestSizeLimitExceeded", deps.defaultLanguage);
    } else {
      outcome = await handleCall({ method: req.method ?? "", path, rawQuery, headers: req.headers }, () => body.read(limit), deps);
    }

    if (endedByFault(req, outcome, started)) return;
    const payload = JSON.stringify(outcome.envelope);
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(payload),
      "x-sanyao-billable": outcome.billable ? "1" : "0",
    };
    if (outcome.cache) headers["x-sanyao-cache"] = outcome.cache;
    const traceId = req.headers["x-tc-traceid"];
    if (typeof traceId === "string") headers["x-tc-traceid"] = traceId;
    // A body left unread (refused before or while reading it): close the connection rather than drain it.
    if (!body.complete) headers.connection = "close";
    res.writeHead(200, headers).end(payload);

    afterAnswer(outcome, typeof traceId === "string" ? traceId : undefined, started);
  }
}
