/**
 * Serves the route table: finds the route by method and path, checks the caller's token against the route's
 * access, narrows the query, path and body by the route's schemas (a clear 400 otherwise), runs the handler and
 * writes its answer. Nothing here knows a route: the table (routes/) and its document (openapi.ts) do.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { stringify } from "csv-stringify/sync";
import { InputError } from "../common/input-error";
import { StoredDataError } from "../common/stored-json";
import { StoreInputError } from "../store/storage";
import { ScenarioInputError } from "../testkit/scenario";
import { type Caller, callerOf, type Tokens } from "./admin-token";
import { type Access, type CsvTable, OperationError, type Reply, type Route } from "./route";

export const OPERATIONS_PREFIX = "/_sanyao/";
export const MAX_BODY_BYTES = 64 * 1024;

/** What a listener serves: the operations routes (else only the probes), and the API at "/" (for the 404's words). */
export interface Serves {
  operations: boolean;
  api: boolean;
}

export interface DispatchOptions<Ctx> {
  routes: ReadonlyArray<Route<Ctx>>;
  ctx: Ctx;
  /** false: no token is configured, and everything under /_sanyao/ answers 404 */
  apiOn: boolean;
  /**
   * who calls: by the bearer token (byTokens), or however a plug-in also tells (the console's session, which may
   * refuse the request with an OperationError: no CSRF header, another origin). Asked for routes that want a caller;
   * for an anonymous route with `bearerOnly`: a probe must not cost a session lookup (a flood of made-up cookies would
   * reach the store) nor keep a session alive.
   */
  identify: (req: IncomingMessage, bearerOnly: boolean) => Caller | Promise<Caller>;
  onError: (err: unknown) => void;
}

/** Callers told by their bearer token; the API is on when either token is set. */
export function byTokens(tokens: Tokens): Pick<DispatchOptions<unknown>, "apiOn" | "identify"> {
  return {
    apiOn: tokens.operator !== undefined || tokens.readOnly !== undefined,
    identify: (req) => callerOf(req.headers.authorization, tokens),
  };
}

export type Dispatch = (req: IncomingMessage, res: ServerResponse, path: string, rawQuery: string, serves: Serves) => Promise<void>;

interface Matched<Ctx> {
  route: Route<Ctx>;
  params: Record<string, string>;
}

/** A path pattern's segments: literal text, or {name}. */
function compile<Ctx>(route: Route<Ctx>) {
  const segments = route.spec.path.split("/").map((s) => {
    const m = /^\{(\w+)\}$/.exec(s);
    return m?.[1] !== undefined ? { param: m[1] } : { text: s };
  });
  return (parts: readonly string[]): Record<string, string> | undefined => {
    if (parts.length !== segments.length) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] ?? "";
      const segment = segments[i];
      if (segment === undefined) return undefined;
      if ("text" in segment) {
        if (segment.text !== part) return undefined;
      } else {
        if (part === "") return undefined;
        let value: string;
        try {
          value = decodeURIComponent(part);
        } catch {
          throw new InputError(`The path's ${segment.param} is not well percent-encoded.`);
        }
        params[segment.param] = value;
      }
    }
    return params;
  };
}

const API_OFF =
  "The operations API is off: no operator token. Set SANYAO_ADMIN_TOKEN, or run `sanyao admin-token create` and restart the server.";

function notFoundText(serves: Serves): string {
  if (!serves.api) {
    return "not found: this is the operations listener: GET /healthz, /readyz and /metrics; the operations API under /_sanyao/ (described at /_sanyao/openapi.json)";
  }
  return serves.operations
    ? "not found: API 3.0 requests go to /; probes are GET /healthz, /readyz and /metrics; operations under /_sanyao/ (described at /_sanyao/openapi.json)"
    : "not found: API 3.0 requests go to /; probes are GET /healthz and /readyz. /metrics and the operations API " +
        "(/_sanyao/) are on the operations listener (SANYAO_OPS_HOST, SANYAO_OPS_PORT), not here.";
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new InputError(`The body is over ${MAX_BODY_BYTES / 1024} KiB.`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new InputError("The body is not JSON."));
      }
    });
    req.on("error", reject);
  });
}

/** CSV when asked by ?format=csv or by an Accept that prefers text/csv; the format parameter is taken out of the query. */
function wantsCsv(req: IncomingMessage, query: Record<string, string>): boolean {
  const format = query.format;
  delete query.format;
  if (format !== undefined) {
    if (format !== "csv" && format !== "json") throw new InputError("format is csv or json.");
    return format === "csv";
  }
  const accept = req.headers.accept ?? "";
  return /\btext\/csv\b/.test(accept) && !/^application\/json\b/.test(accept);
}

async function writeCsv(res: ServerResponse, status: number, table: CsvTable): Promise<void> {
  res.writeHead(status, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="${table.filename}"`,
  });
  res.write(stringify([[...table.header]]));
  let batch: Array<ReadonlyArray<string | number | boolean | null>> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const more = res.write(stringify(batch));
    batch = [];
    if (!more) await new Promise<void>((resolve) => res.once("drain", resolve));
  };
  for await (const row of table.rows) {
    batch.push(row);
    if (batch.length >= 500) await flush();
    if (res.destroyed) return;
  }
  await flush();
  res.end();
}

function write(res: ServerResponse, reply: Reply): Promise<void> | undefined {
  if ("csv" in reply) return writeCsv(res, reply.status, reply.csv);
  if ("text" in reply) {
    res.writeHead(reply.status, { "content-type": reply.contentType }).end(reply.text);
    return;
  }
  res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers }).end(JSON.stringify(reply.json));
}

/** Whether `caller` may call a route of this access: undefined if so, else the refusal. */
function refusal(access: Access, caller: Caller): Reply | undefined {
  if (access === "anonymous") return undefined;
  if (caller === "anyone") {
    return {
      status: 401,
      json: { error: "The operations API wants the operator token: Authorization: Bearer TOKEN." },
      headers: { "www-authenticate": 'Bearer realm="sanyao operations"' },
    };
  }
  if (access === "write" && caller !== "operator") {
    return {
      status: 403,
      json: { error: "The read-only token sees everything and changes nothing: this route wants the operator token." },
    };
  }
  return undefined;
}

export function dispatcher<Ctx>(options: DispatchOptions<Ctx>): Dispatch {
  const table = options.routes.map((route) => ({ route, match: compile(route) }));
  // The routes each kind of listener serves, made once: the public one alone, or one that serves the operations too.
  const tables = { public: table.filter(({ route }) => route.spec.listener === "every"), operations: table };
  const { apiOn } = options;

  // An anonymous route answers anyone, and may tell a caller apart (/readyz shows its reasons to a token): credentials
  // refused (a session's request without its CSRF header) or not checked (the store away, for a session) leave the
  // caller anyone there, so a probe never fails for a cookie it carried.
  const callerOf = async (req: IncomingMessage, access: Access): Promise<Caller> => {
    if (access !== "anonymous") return options.identify(req, false);
    return Promise.resolve(options.identify(req, true)).catch(() => "anyone" as const);
  };

  return async (req, res, path, rawQuery, serves) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      void res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
    try {
      const here = serves.operations ? tables.operations : tables.public;
      const parts = path.split("/");
      const matches: Array<Matched<Ctx>> = [];
      for (const { route, match } of here) {
        const params = match(parts);
        if (params) matches.push({ route, params });
      }
      const operationsPath = path.startsWith(OPERATIONS_PREFIX) && serves.operations;
      if (operationsPath && !apiOn) return json(404, { error: API_OFF });
      if (matches.length === 0) return json(404, { error: notFoundText(serves) });
      const found = matches.find((m) => m.route.spec.method === req.method);
      if (!found) {
        const allow = [...new Set(matches.map((m) => m.route.spec.method))].join(", ");
        return json(405, { error: `${path} answers ${allow}.` }, { allow });
      }
      const { route, params } = found;
      const caller = await callerOf(req, route.spec.access);
      const refused = refusal(route.spec.access, caller);
      if (refused) return void write(res, refused);
      // A name given twice counts once, the first; fromEntries makes own properties, "__proto__" among them.
      const given = new Map<string, string>();
      for (const [name, value] of new URLSearchParams(rawQuery)) if (!given.has(name)) given.set(name, value);
      const query: Record<string, string> = Object.fromEntries(given);
      const csv = route.spec.csv === true && wantsCsv(req, query);
      const body = route.spec.body ? await readBody(req) : undefined;
      const reply = await route.run({ params, query, body, csv, caller, req }, options.ctx);
      await write(res, reply);
    } catch (err) {
      if (res.headersSent) {
        options.onError(err);
        res.destroy();
        return;
      }
      if (err instanceof InputError || err instanceof ScenarioInputError || err instanceof StoreInputError) {
        return json(400, { error: err.message });
      }
      if (err instanceof OperationError) return json(err.status, { error: err.message }, err.headers);
      // Damaged data in the store: the message says which and how to mend it, and holds no value.
      if (err instanceof StoredDataError) return json(500, { error: err.message });
      options.onError(err);
      json(500, { error: "The operations API failed; the server's log says why." });
    }
  };
}
