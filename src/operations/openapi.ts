/**
 * The OpenAPI 3.1 document of everything the operations listener serves, made from the route table itself: each
 * route's method, path, access, parameters, body and answers, and the refusals its shape implies (400 for input,
 * 401 without a token, 403 for the read-only token on a route that changes things).
 */
import fs from "node:fs";
import path from "node:path";
import { packageRoot } from "../common/paths";
import { GROUPS, type Route } from "./route";
import { errorAnswer } from "./routes/shapes";
import type { JsonSchema, Schema } from "./schema";

export const OPENAPI_VERSION = "3.1.0";

const DESCRIPTION = [
  "The operations API of a sanyao server: the test kit (scenarios, the request log, signature diagnoses), accounts,",
  "keys, ledgers, usage, records and gateway mode. It is served beside the probes on the operations listener",
  "(SANYAO_OPS_PORT), else on the public one.",
  "",
  "Every route under /_sanyao/ but this document wants a bearer token. The operator token (SANYAO_ADMIN_TOKEN, or the",
  "data directory's admin-token file made at first start) may do everything; the read-only token",
  "(SANYAO_READ_ONLY_TOKEN, or `sanyao admin-token create --read-only`) sees everything and changes nothing: a route",
  "marked x-sanyao-access: write answers it 403. With no token configured the operations API is off and every path",
  "under /_sanyao/ answers 404.",
  "",
  "The web console (/_sanyao/console/, its files, no token) signs in with POST /_sanyao/session: the cookie it gets",
  "stands for the token, and a request on it that changes something carries X-Sanyao-CSRF.",
  "",
  'Money is in CNY as a decimal string ("1000.00"). No answer ever holds a phone number, name or identity number:',
  "only masks and counts.",
].join("\n");

function packageVersion(): string {
  const pkg: unknown = JSON.parse(fs.readFileSync(path.join(packageRoot, "package.json"), "utf8"));
  return typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string" ? pkg.version : "0.0.0";
}

const errorContent = { "application/json": { schema: errorAnswer.json } };

/** Every named schema the routes use, each once; one name given two shapes is a mistake in the table. */
function components<Ctx>(routes: ReadonlyArray<Route<Ctx>>): Record<string, JsonSchema> {
  const all = new Map<string, JsonSchema>(errorAnswer.components);
  const schemas: Array<Schema<unknown> | undefined> = routes.flatMap(({ spec }) => [
    spec.params,
    spec.query,
    spec.body,
    ...Object.values(spec.answers).map((a) => a.schema),
  ]);
  for (const schema of schemas) {
    for (const [name, json] of schema?.components ?? []) {
      const known = all.get(name);
      if (known && JSON.stringify(known) !== JSON.stringify(json)) throw new Error(`two schemas are named ${name}`);
      all.set(name, json);
    }
  }
  return Object.fromEntries([...all].sort(([a], [b]) => a.localeCompare(b)));
}

function operation<Ctx>(route: Route<Ctx>) {
  const { spec } = route;
  const parameters = [
    ...(spec.params?.fields ?? []).map((f) => ({ name: f.name, in: "path", required: true, schema: f.json })),
    ...(spec.query?.fields ?? []).map((f) => ({ name: f.name, in: "query", required: f.required, schema: f.json })),
    ...(spec.csv
      ? [
          {
            name: "format",
            in: "query",
            required: false,
            description: "csv for CSV (as `Accept: text/csv` asks), json (the default)",
            schema: { type: "string", enum: ["json", "csv"] },
          },
        ]
      : []),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(spec.answers)) {
    const content: Record<string, unknown> = answer.contentType
      ? { [answer.contentType]: { schema: { type: "string" } } }
      : { "application/json": { schema: answer.schema?.json ?? {} } };
    if (spec.csv && status === "200")
      content["text/csv"] = { schema: { type: "string", description: "a header line, then one line per row" } };
    responses[status] = { description: answer.description, content };
  }
  const refusals: Record<string, string | undefined> = {
    400: parameters.length > 0 || spec.body ? "the input does not fit: the error names the field and what it wants" : undefined,
    401: spec.access !== "anonymous" ? "no token, or not one of the API's tokens" : undefined,
    403:
      spec.access === "write"
        ? "the read-only token (or session): it changes nothing; or a console session's request without its X-Sanyao-CSRF, or from another site"
        : spec.access === "read"
          ? `a console session's request from another site (its Origin)${spec.method === "GET" ? "" : ", or without its X-Sanyao-CSRF"}`
          : undefined,
    ...spec.errors,
  };
  for (const [status, description] of Object.entries(refusals)) {
    if (description !== undefined) responses[status] = { description, content: errorContent };
  }
  return {
    operationId: spec.id,
    summary: spec.summary,
    ...(spec.description && { description: spec.description }),
    tags: [spec.group],
    security: spec.access === "anonymous" ? [] : [{ operatorToken: [] }, { consoleSession: [] }],
    "x-sanyao-access": spec.access,
    "x-sanyao-listener": spec.listener ?? "operations",
    ...(parameters.length > 0 && { parameters }),
    ...(spec.body && { requestBody: { required: true, content: { "application/json": { schema: spec.body.json } } } }),
    ...(spec.stream && {
      requestBody: {
        required: true,
        description: spec.stream.description,
        content: { [spec.stream.contentType]: { schema: { type: "string" } } },
      },
    }),
    responses,
  };
}

export function openapiDocument<Ctx>(routes: ReadonlyArray<Route<Ctx>>) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const methods = paths[route.spec.path] ?? {};
    methods[route.spec.method.toLowerCase()] = operation(route);
    paths[route.spec.path] = methods;
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: "sanyao operations API",
      version: packageVersion(),
      description: DESCRIPTION,
      license: { name: "MIT", identifier: "MIT" },
    },
    tags: Object.entries(GROUPS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        operatorToken: {
          type: "http",
          scheme: "bearer",
          description: "The operator token (everything) or the read-only token (routes marked x-sanyao-access: read)",
        },
        consoleSession: {
          type: "apiKey",
          in: "cookie",
          name: "sanyao_session",
          description: "The web console's session (POST /_sanyao/session), with its token's access; changes want X-Sanyao-CSRF",
        },
      },
      schemas: components(routes),
    },
  };
}
