/** The overview: calls, charges, errors, refusals and latency per action over a window; the upstream; background failures. */
import { OVERVIEW_WINDOWS } from "../../admin/overview";
import { OVERVIEW_CACHE_MS } from "../../admin/overview-answers";
import { describeUpstream } from "../../gateway/upstream-settings";
import type { OperationsContext } from "../context";
import { json, routesFor } from "../route";
import { array, integer, named, nullable, number, object, oneOf, optional, string } from "../schema";
import { amount, isoTime } from "./shapes";

const route = routesFor<OperationsContext>();

const count = integer({ minimum: 0 });

const overviewAnswer = named(
  "Overview",
  object({
    window: oneOf(OVERVIEW_WINDOWS),
    from: isoTime,
    to: isoTime,
    bucketMs: integer({ minimum: 1, description: "each point of the series covers this long (a minute, an hour, a China-time day)" }),
    actions: array(
      object({
        action: string(),
        calls: count,
        charged: count,
        amount,
        errors: count,
        refusals: count,
      }),
      { description: "per action: calls answered, ledger rows, their money, errors (API errors) and refusals (rate limit, no money)" },
    ),
    series: array(object({ at: isoTime, calls: count, charged: count, amount, errors: count, refusals: count }), {
      description: "every bucket of the window, oldest first, empty ones included",
    }),
    latency: nullable(
      object(
        { p50Ms: number(), p99Ms: number() },
        { description: "from a histogram of classes about 5 % wide; null when no call was answered in the window" },
      ),
    ),
    gateway: nullable(
      object(
        {
          upstream: nullable(string()),
          state: oneOf(["ok", "key refused"]),
          keyRefused: nullable(string({ description: "the error code the upstream refused the company key with" })),
        },
        { description: "gateway mode's upstream; null when no upstream is set" },
      ),
    ),
    backgroundFailures: array(object({ at: isoTime, what: string() }), {
      description: "this process's last background failures (audit writes, the store's connections, the upstream's key), newest first",
    }),
  }),
);

export const overviewRoutes = [
  route({
    id: "overview",
    method: "GET",
    path: "/_sanyao/overview",
    group: "overview",
    summary: "Calls, charged calls, money, errors and refusals per action over the last hour, day or 30 days, with latency",
    description:
      "Counted in the store from indexes on time (audit_overview, ledger_overview); test keys' calls and charges are left out. " +
      `Each window's counts are kept ${OVERVIEW_CACHE_MS / 1000} s per server: a call within that time gets the same answer.`,
    access: "read",
    query: object({ window: optional(oneOf(OVERVIEW_WINDOWS, { description: "hour (default), day or 30d" })) }),
    answers: { 200: { description: "the overview", schema: overviewAnswer } },
    handle: async ({ query }, ctx) => {
      const [counts, upstream] = await Promise.all([
        ctx.overview.get(query.window ?? "hour", ctx.clock()),
        describeUpstream(ctx.store.meta),
      ]);
      const refused = ctx.upstreamKeyRefused() ?? null;
      return json(200, {
        ...counts,
        gateway: upstream
          ? { upstream: ctx.gateway.url ?? upstream.url, state: refused ? "key refused" : "ok", keyRefused: refused }
          : null,
        backgroundFailures: ctx.failures.list(),
      });
    },
  }),
];
