/**
 * node:http in front of the pipeline: hands it the body on demand under the caps of body.ts, writes the
 * always-200 envelope, then hands the outcome to the afterAnswer hook (log line, metrics, audit, request log).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";
import { type BodyBudget, RequestBody } from "./body";
import { errorOutcome, handleCall, type ApiOutcome, type PipelineDeps } from "../api3/pipeline";

export const LIMITS = { getHeaderBytes: 32 * 1024, v1BodyBytes: 1024 * 1024, tc3BodyBytes: 10 * 1024 * 1024 };

export interface HttpDeps extends PipelineDeps {
  logger: Logger;
  metrics: Metrics;
  /** request body bytes buffered across all requests in flight */
  bodyBudget: BodyBudget;
  /** what /readyz reports: every dependency answering, or which one is not */
  readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  /** the operations API under /_sanyao/ (operations/routes.ts) */
  operations?: (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => Promise<void>;
  /** connections a hook left unanswered on purpose, closed when the server stops */
  hung: Set<Socket>;
}

function headerBytes(req: IncomingMessage): number {
  let n = req.method!.length + req.url!.length + 12;
  for (const part of req.rawHeaders) n += part.length + 2;
  return n;
}

export function createApiHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const afterAnswer = (outcome: ApiOutcome, traceId: string | undefined, started: bigint) =>
    deps.hooks.afterAnswer?.(outcome, deps.clock(), Number((process.hrtime.bigint() - started) / 1000n), traceId);
  return (req, res) => {
    const started = process.hrtime.bigint();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== "/") {
      void operations(req, res, path).catch((err) => {
        deps.logger.error({ err }, "operations endpoint failed");
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    void serve(req, res, path, q === -1 ? "" : url.slice(q + 1).split("#")[0]!, started).catch((err) => {
      deps.logger.error({ err }, "request failed outside the pipeline");
      if (!res.headersSent) res.writeHead(500).end();
    });
  };

  /** Probes and metrics live beside the API's only path, "/": GET /healthz, /readyz, /metrics. */
  async function operations(req: IncomingMessage, res: ServerResponse, path: string) {
    const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "GET" && path === "/healthz") return json(200, { status: "ok" });
    if (req.method === "GET" && path === "/readyz") {
      const readiness = await deps.readiness();
      return json(readiness.ready ? 200 : 503, readiness);
    }
    if (req.method === "GET" && path === "/metrics") {
      const text = await deps.metrics.registry.metrics();
      return res.writeHead(200, { "content-type": deps.metrics.registry.contentType }).end(text);
    }
    if (path.startsWith("/_sanyao/") && deps.operations) {
      const q = (req.url ?? "").indexOf("?");
      return deps.operations(req, res, path, new URLSearchParams(q === -1 ? "" : req.url!.slice(q + 1)));
    }
    json(404, { error: "not found: API 3.0 requests go to /; probes are GET /healthz, /readyz and /metrics; operations under /_sanyao/" });
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

    if (outcome.transport === "reset") {
      // A TCP RST, as a dropped connection reaches a client: no response at all.
      req.socket.resetAndDestroy();
      afterAnswer(outcome, undefined, started);
      return;
    }
    if (outcome.transport === "hang") {
      // No answer ever: the client's own timeout ends it (or the server's stop).
      deps.hung.add(req.socket);
      req.socket.once("close", () => deps.hung.delete(req.socket));
      afterAnswer(outcome, undefined, started);
      return;
    }
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
