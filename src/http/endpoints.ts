/**
 * The endpoints beside the API's only path, "/": the probes (GET /healthz, /readyz) on every listener; /metrics and
 * the operations API (/_sanyao/) on the operations listener when one is set (SANYAO_OPS_PORT), else on the public
 * one. A listener that does not serve them answers 404, whoever asks.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";
import { bearerMatches } from "../operations/admin-token";

export type OperationsApi = (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => Promise<void>;

export interface EndpointDeps {
  logger: Logger;
  metrics: Metrics;
  /** what /readyz reports: every dependency answering, or which one is not */
  readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  /** the operator token: only a caller presenting it learns from /readyz why the server is not ready */
  operatorToken?: string;
  /** the operations API under /_sanyao/ (operations/routes.ts) */
  operations?: OperationsApi;
}

export type Endpoints = (req: IncomingMessage, res: ServerResponse, path: string) => void;

/**
 * `operations`: this listener serves /metrics and /_sanyao/; `api`: it serves the API at "/" (for the 404's words).
 */
export function endpoints(deps: EndpointDeps, serves: { operations: boolean; api: boolean }): Endpoints {
  const notFound = !serves.api
    ? "not found: this is the operations listener: GET /healthz, /readyz and /metrics; the operations API under /_sanyao/"
    : serves.operations
      ? "not found: API 3.0 requests go to /; probes are GET /healthz, /readyz and /metrics; operations under /_sanyao/"
      : "not found: API 3.0 requests go to /; probes are GET /healthz and /readyz. /metrics and the operations API " +
        "(/_sanyao/) are on the operations listener (SANYAO_OPS_HOST, SANYAO_OPS_PORT), not here.";

  async function serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method === "GET" && path === "/healthz") return json(200, { status: "ok" });
    if (req.method === "GET" && path === "/readyz") {
      const readiness = await deps.readiness();
      // The reasons carry raw error text, hosts and ports, the upstream's URL: the operator's, not anyone's.
      const operator = deps.operatorToken !== undefined && bearerMatches(req.headers.authorization, deps.operatorToken);
      return json(readiness.ready ? 200 : 503, operator ? readiness : { ready: readiness.ready });
    }
    if (serves.operations && req.method === "GET" && path === "/metrics") {
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { "content-type": deps.metrics.registry.contentType }).end(text);
      return;
    }
    if (serves.operations && path.startsWith("/_sanyao/") && deps.operations) {
      const url = req.url ?? "";
      const q = url.indexOf("?");
      return deps.operations(req, res, path, new URLSearchParams(q === -1 ? "" : url.slice(q + 1)));
    }
    json(404, { error: notFound });
  }

  return (req, res, path) => {
    void serve(req, res, path).catch((err) => {
      deps.logger.error({ err }, "operations endpoint failed");
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}

/** The operations listener's handler: the endpoints above for every path, "/" included (no API here). */
export function operationsHandler(deps: EndpointDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const serve = endpoints(deps, { operations: true, api: false });
  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    serve(req, res, q === -1 ? url : url.slice(0, q));
  };
}
