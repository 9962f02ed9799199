/**
 * A route of the operations API as data: method, path, who may call it, the shapes of its query, path and body,
 * its answers and errors, and its handler. The dispatcher (dispatch.ts) serves the table and the OpenAPI document
 * (openapi.ts) is made from it: one description, so the two cannot drift.
 */
import type { IncomingMessage } from "node:http";
import type { Caller } from "./admin-token";
import { InputError, type ObjectSchema, type Schema } from "./schema";

/**
 * anonymous: anyone who reaches the listener. read: the operator token or the read-only token (sees everything,
 * changes nothing). write: the operator token only.
 */
export type Access = "anonymous" | "read" | "write";

/** every: the probes, on every listener. operations: the operations listener (the public one when none is apart). */
export type Listener = "every" | "operations";

export type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** The groups of the document (its tags), in the order it lists them. */
export const GROUPS = {
  probes: "Health probes and metrics, for orchestrators and Prometheus",
  document: "This description of the API",
  console: "The web console's sign-in: a session cookie in exchange for a token (the bearer tokens keep working)",
  overview: "Calls, charges, errors, refusals and latency per action over the last hour, day or 30 days",
  "test kit": "Scenarios, the request log and signature diagnoses of the running server",
  accounts: "Accounts: states, limits, daily cap, monthly budget, balance and top-ups",
  keys: "API keys (SecretId/SecretKey) of an account",
  ledger: "Each account's charges",
  usage: "Calls, charges and amounts per account, day, action and mode",
  records: "The subscriber records, counted (never a value)",
  gateway: "Gateway mode: the upstream, team budgets, the cache, calls whose outcome is unknown",
} as const;
export type Group = keyof typeof GROUPS;

/** A CSV answer: written row by row as the rows come (an export may be long). */
export interface CsvTable {
  filename: string;
  header: readonly string[];
  rows: AsyncIterable<ReadonlyArray<string | number | boolean | null>>;
}

export type Reply =
  | { status: number; json: unknown; headers?: Readonly<Record<string, string>> }
  | { status: number; text: string; contentType: string }
  | { status: number; csv: CsvTable };

/**
 * A refusal the route documents (404 no such thing, 409 a conflict, 413 too large, 429 too many), or one a plug-in's
 * caller check makes (403); 400 comes from InputError (schema.ts).
 */
export class OperationError extends Error {
  constructor(
    readonly status: 403 | 404 | 409 | 413 | 429,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new OperationError(404, message);

export interface AnswerDoc {
  description: string;
  /** the JSON answer's shape; none for an answer in another form (contentType) */
  schema?: Schema<unknown>;
  /** not JSON: the answer's media type (the metrics' text) */
  contentType?: string;
}

/** What a handler gets: the narrowed path, query and body; `csv` when the caller asked for CSV; who calls. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  csv: boolean;
  caller: Caller;
  req: IncomingMessage;
}

export interface RouteSpec<Ctx, P, Q, B> {
  /** unique, camelCase: the document's operationId */
  id: string;
  method: Method;
  /** with {name} for a path parameter, as the document writes it */
  path: string;
  group: Group;
  summary: string;
  description?: string;
  access: Access;
  /** default: operations */
  listener?: Listener;
  params?: ObjectSchema<P>;
  query?: ObjectSchema<Q>;
  body?: Schema<B>;
  /** a body the handler reads itself as a stream (a file), not JSON: its media type, for the document */
  stream?: { contentType: string; description: string };
  /** the 200 answer also comes as CSV: `Accept: text/csv` or `?format=csv` */
  csv?: boolean;
  answers: Readonly<Record<number, AnswerDoc>>;
  /** the refusals the route may answer besides 400, 401 and 403, with when */
  errors?: Readonly<Partial<Record<403 | 404 | 409 | 413 | 429 | 503, string>>>;
  handle(input: RouteInput<P, Q, B>, ctx: Ctx): Promise<Reply>;
}

/** What the table and the document know of a route: all of it but the handler. */
export type RouteDoc = Omit<RouteSpec<unknown, unknown, unknown, unknown>, "handle">;

/** A route with its types closed over: what the table holds. */
export interface Route<Ctx> {
  spec: RouteDoc;
  /** narrows the raw input by the route's schemas, then runs the handler */
  run(raw: RouteInput<Record<string, string>, Record<string, string>, unknown>, ctx: Ctx): Promise<Reply>;
}

const EMPTY = {};

/** Types a route's handler by its schemas, then erases them so routes of every shape sit in one table. */
export function route<Ctx, P = Record<string, never>, Q = Record<string, never>, B = undefined>(spec: RouteSpec<Ctx, P, Q, B>): Route<Ctx> {
  // A route that takes a query names every parameter it knows (a mistyped one is refused, not ignored); a route
  // that takes none ignores it (a probe behind a proxy that adds one still answers).
  const known = spec.query?.fields.map((f) => f.name);
  return {
    spec,
    run: (raw, ctx) => {
      for (const name of known ? Object.keys(raw.query) : []) {
        if (!known?.includes(name)) {
          throw new InputError(`No query parameter ${JSON.stringify(name.slice(0, 64))} here (parameters: ${known?.join(", ")}).`);
        }
      }
      // path parameters and the query are text
      const params = spec.params ? spec.params.parse(raw.params, "", true) : EMPTY;
      const query = spec.query ? spec.query.parse(raw.query, "", true) : EMPTY;
      const body = spec.body ? spec.body.parse(raw.body, "", false) : undefined;
      // Each was narrowed by the route's own schema just above (or is absent because the route declares none).
      return spec.handle({ ...raw, params: params as P, query: query as Q, body: body as B }, ctx);
    },
  };
}

/** route() for one context, its other types inferred from the route's schemas: `const route = routesFor<Ctx>()`. */
export function routesFor<Ctx>() {
  return <P = Record<string, never>, Q = Record<string, never>, B = undefined>(spec: RouteSpec<Ctx, P, Q, B>): Route<Ctx> => route(spec);
}

/** The JSON body of an answer. */
export const json = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): Reply => ({
  status,
  json: body,
  ...(headers && { headers }),
});
