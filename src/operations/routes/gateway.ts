/** Gateway mode: its status at a glance, and the calls whose outcome is unknown. */
import { gatewayStatus } from "../../admin/gateway";
import { shownUnknown } from "../../admin/ledger";
import type { OperationsContext } from "../context";
import { json, routesFor } from "../route";
import { array, boolean, integer, nullable, object, optional, string } from "../schema";
import { accountId, amount, isoTime, pageOf, paging, total, unknownAnswer } from "./shapes";

const route = routesFor<OperationsContext>();

const count = integer({ minimum: 0 });

const status = object({
  gateway: boolean({ description: "an upstream is set: FaceID calls are forwarded to it" }),
  upstream: nullable(
    object({
      url: string({ description: "the URL in force (SANYAO_UPSTREAM_URL over the stored one)" }),
      secretId: string({ description: "the company's SecretId (never its key)" }),
      publicKeys: string({ description: "which public keys fields are encrypted to" }),
      companyKey: string({ description: "whether the upstream's last answer refused the company key" }),
    }),
  ),
  limits: object({
    ratePerSecond: integer({ description: "the upstream account's per-action limit, shared among the teams" }),
    timeoutMs: integer(),
    cacheTtlSeconds: integer({ description: "how long a paid answer is kept (0: no cache)" }),
  }),
  month: string({ description: "the China-time month the spend is counted in, YYYY-MM" }),
  teams: array(
    object({
      accountId: string(),
      name: string(),
      monthlyBudget: nullable(amount),
      spent: amount,
      left: nullable(amount),
    }),
    { description: "accounts with a monthly budget or a charge this month" },
  ),
  slots: object(
    { perSecond: array(object({ at: isoTime, used: count })) },
    {
      description: "the upstream slots this process took in each of the last 60 seconds, oldest first (of limits.ratePerSecond per action)",
    },
  ),
  cache: object({ hits: count, misses: count }, { description: "this month: answers from the cache, and upstream answers kept in it" }),
  unknown: object({ total: count, latest: array(unknownAnswer) }, { description: "upstream calls sent and never answered" }),
});

export const gatewayRoutes = [
  route({
    id: "gatewayStatus",
    method: "GET",
    path: "/_sanyao/gateway",
    group: "gateway",
    summary: "The upstream and its limit, each team's spend this month against its budget, the cache, the unknown calls",
    access: "read",
    answers: { 200: { description: "the status", schema: status } },
    handle: async (_input, ctx) =>
      json(200, await gatewayStatus(ctx.store, ctx.gateway, ctx.upstreamKeyRefused(), ctx.clock(), ctx.upstreamSlotUse())),
  }),
  route({
    id: "listUnknownCalls",
    method: "GET",
    path: "/_sanyao/gateway/unknown",
    group: "gateway",
    summary: "Upstream calls sent and never answered (the upstream may have charged them), newest first",
    access: "read",
    query: object({ account: optional(accountId), ...paging }),
    answers: {
      200: { description: "one page", schema: object({ unknown: array(unknownAnswer), total, offset: integer(), limit: integer() }) },
    },
    handle: async ({ query }, ctx) => {
      const page = pageOf(query);
      const found = await ctx.store.ledger.unknownPage({ accountId: query.account, ...page });
      return json(200, { unknown: found.rows.map(shownUnknown), total: found.total, ...page });
    },
  }),
];
