/**
 * The route table: every path the operations listener serves, the probes and this API's own description among
 * them. The dispatcher serves it and openapi.ts describes it; the console adds its routes to it from outside.
 */
import type { OperationsContext } from "../context";
import { openapiDocument } from "../openapi";
import { json, type Route, routesFor } from "../route";
import type { Schema } from "../schema";
import { accountRoutes } from "./accounts";
import { gatewayRoutes } from "./gateway";
import { keyRoutes } from "./keys";
import { ledgerRoutes } from "./ledger";
import { overviewRoutes } from "./overview";
import { probeRoutes } from "./probes";
import { recordRoutes } from "./records";
import { testKitRoutes } from "./test-kit";

const route = routesFor<OperationsContext>();

/** The document's shape, as far as this API states it: it is not narrowed from input, only answered. */
const openapiShape: Schema<unknown> = {
  json: { type: "object", required: ["openapi", "info", "paths", "components"], description: "an OpenAPI 3.1 document" },
  components: new Map(),
  parse: (value) => value,
};

/** The table with the route of its own document (which lists that route too). */
export function withDocument<Ctx>(
  routes: ReadonlyArray<Route<Ctx>>,
  documentRoute: (document: () => unknown) => Route<Ctx>,
): Array<Route<Ctx>> {
  let document: unknown;
  const table: Array<Route<Ctx>> = [...routes];
  table.push(
    documentRoute(() => {
      document ??= openapiDocument(table);
      return document;
    }),
  );
  return table;
}

const documentRoute = (document: () => unknown) =>
  route({
    id: "openapi",
    method: "GET",
    path: "/_sanyao/openapi.json",
    group: "document",
    summary: "This description of the operations API (OpenAPI 3.1), made from the routes the server serves",
    description: "No token needed: the document holds no data of the installation, only the routes' shapes.",
    access: "anonymous",
    answers: { 200: { description: "the document", schema: openapiShape } },
    handle: async () => json(200, document()),
  });

/** The routes of the core, by group. */
export const CORE_ROUTES: ReadonlyArray<Route<OperationsContext>> = [
  ...probeRoutes,
  ...overviewRoutes,
  ...testKitRoutes,
  ...accountRoutes,
  ...keyRoutes,
  ...ledgerRoutes,
  ...recordRoutes,
  ...gatewayRoutes,
];

/**
 * The table a server serves: the core's routes, those a plug-in adds (the console's, over a context that extends
 * this one), and the document of them all.
 */
export function operationsTable<Ctx extends OperationsContext>(extra: ReadonlyArray<Route<Ctx>> = []): Array<Route<Ctx>> {
  return withDocument<Ctx>([...CORE_ROUTES, ...extra], documentRoute);
}
