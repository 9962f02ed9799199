/** The probes (on every listener) and the metrics (on the operations listener), for orchestrators and Prometheus. */
import type { OperationsContext } from "../context";
import { json, routesFor } from "../route";
import { boolean, object, optional, record, string } from "../schema";

const route = routesFor<OperationsContext>();

const readiness = object({
  ready: boolean(),
  checks: optional(
    record(string(), {
      description:
        "each dependency (store, redis, upstream): ok, or why not. Shown only to a caller with a token: the reasons name hosts and ports",
    }),
  ),
});

export const probeRoutes = [
  route({
    id: "healthz",
    method: "GET",
    path: "/healthz",
    group: "probes",
    summary: "The process answers (liveness)",
    access: "anonymous",
    listener: "every",
    answers: { 200: { description: "alive", schema: object({ status: string({ examples: ["ok"] }) }) } },
    handle: async () => json(200, { status: "ok" }),
  }),
  route({
    id: "readyz",
    method: "GET",
    path: "/readyz",
    group: "probes",
    summary: "Every dependency answers (readiness)",
    description: "With the operator or read-only token, the answer says which dependency is not ready and why.",
    access: "anonymous",
    listener: "every",
    answers: {
      200: { description: "ready", schema: readiness },
      503: { description: "a dependency does not answer", schema: readiness },
    },
    handle: async ({ caller }, ctx) => {
      const r = await ctx.readiness();
      return json(r.ready ? 200 : 503, caller === "anyone" ? { ready: r.ready } : r);
    },
  }),
  route({
    id: "metrics",
    method: "GET",
    path: "/metrics",
    group: "probes",
    summary: "Prometheus metrics",
    description: "Requests by action and code, latencies, charges, limit refusals, background failures. No token: a scraper reads it.",
    access: "anonymous",
    answers: { 200: { description: "the Prometheus text format", contentType: "text/plain" } },
    handle: async (_input, ctx) => ({ status: 200, text: await ctx.metrics.text(), contentType: ctx.metrics.contentType }),
  }),
];
