/**
 * The paths beside the API's only path, "/": the probes (GET /healthz, /readyz) on every listener; /metrics and
 * the operations API (/_sanyao/) on the operations listener when one is set (SANYAO_OPS_PORT), else on the public
 * one. The operations route table (operations/routes/) says which is which; the dispatcher serves it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "./log";
import type { Dispatch } from "../operations/dispatch";

export interface EndpointDeps {
  logger: Logger;
  /** the route table's dispatcher (operations/dispatch.ts) */
  dispatch: Dispatch;
}

export type Endpoints = (req: IncomingMessage, res: ServerResponse, path: string, rawQuery: string) => void;

/** `operations`: this listener serves /metrics and /_sanyao/; `api`: it serves the API at "/" (for the 404's words). */
export function endpoints(deps: EndpointDeps, serves: { operations: boolean; api: boolean }): Endpoints {
  return (req, res, path, rawQuery) => {
    void deps.dispatch(req, res, path, rawQuery, serves).catch((err) => {
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
    serve(req, res, q === -1 ? url : url.slice(0, q), q === -1 ? "" : url.slice(q + 1));
  };
}
