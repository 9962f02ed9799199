/** An account's ledger (its charges) and the usage report, as JSON pages or as CSV: paged and summed in the store. */
import { chinaDayRange, DAY_PATTERN } from "../../admin/days";
import { InputError } from "../../common/input-error";
import { allEntries, LEDGER_COLUMNS, shownEntry } from "../../admin/ledger";
import { USAGE_COLUMNS, usageCells, usageReport } from "../../admin/usage";
import type { OperationsContext } from "../context";
import { json, notFound, routesFor } from "../route";
import { array, boolean, integer, named, object, oneOf, optional, string } from "../schema";
import { accountId, actionName, amount, day, isoTime, pageOf, paging, total } from "./shapes";

const route = routesFor<OperationsContext>();

const entryAnswer = named(
  "LedgerEntry",
  object({
    at: isoTime,
    day: string({ description: "the China-time day" }),
    requestId: string(),
    secretId: string(),
    action: string(),
    mode: oneOf(["simple", "detailed"]),
    amount,
    test: boolean(),
    upstreamRequestId: optional(string({ description: "gateway mode: the upstream's RequestId of the call this paid for" })),
  }),
);

const usageRow = named(
  "UsageRow",
  object({
    accountId: string(),
    day: string({ description: "the China-time day" }),
    action: string(),
    mode: oneOf(["simple", "detailed"]),
    calls: integer({ minimum: 0, description: "answers with a Result" }),
    charged: integer({ minimum: 0, description: "ledger rows" }),
    amount,
    cached: integer({ minimum: 0, description: "gateway mode: answered from the cache (no upstream cost)" }),
    refused: integer({ minimum: 0, description: "gateway mode: refused before the upstream (the team's budget, the upstream's limit)" }),
  }),
);

const testLedger = boolean({ description: "the test ledger (test keys' charges) instead of the real one" });

export const ledgerRoutes = [
  route({
    id: "listLedger",
    method: "GET",
    path: "/_sanyao/accounts/{accountId}/ledger",
    group: "ledger",
    summary: "An account's charges, newest first, by day and action; one page as JSON, or all of them as CSV",
    description:
      "CSV (`Accept: text/csv` or `format=csv`) holds every entry the filters match, offset and limit aside, written as it is read.",
    access: "read",
    csv: true,
    params: object({ accountId }),
    query: object({
      day: optional(
        string({ pattern: DAY_PATTERN, hint: "a China-time day YYYY-MM-DD", description: "one China-time day (from and to at once)" }),
      ),
      from: optional(day),
      to: optional(day),
      action: optional(actionName),
      test: optional(testLedger),
      ...paging,
    }),
    answers: {
      200: { description: "one page", schema: object({ entries: array(entryAnswer), total, offset: integer(), limit: integer() }) },
    },
    errors: { 404: "no such account" },
    handle: async ({ params, query, csv }, ctx) => {
      if (query.day !== undefined && (query.from !== undefined || query.to !== undefined)) {
        throw new InputError("day is one day: give it, or from and to, not both.");
      }
      if (!(await ctx.store.accounts.get(params.accountId))) throw notFound(`No account ${params.accountId}.`);
      const filter = {
        accountId: params.accountId,
        test: query.test === true,
        action: query.action,
        ...chinaDayRange(query.day ?? query.from, query.day ?? query.to),
      };
      if (csv) {
        return {
          status: 200,
          csv: { filename: `ledger-${params.accountId}.csv`, header: LEDGER_COLUMNS, rows: allEntries(ctx.store, filter) },
        };
      }
      const page = pageOf(query);
      const [entries, count] = await Promise.all([ctx.store.ledger.entries({ ...filter, ...page }), ctx.store.ledger.entryCount(filter)]);
      return json(200, { entries: entries.map(shownEntry), total: count, ...page });
    },
  }),
  route({
    id: "usage",
    method: "GET",
    path: "/_sanyao/usage",
    group: "usage",
    summary: "Calls, charged calls and amounts per account, China-time day, action and mode, with their totals",
    description: "In gateway mode, `cached` counts calls the cache answered and `refused` calls refused before the upstream.",
    access: "read",
    csv: true,
    query: object({ account: optional(accountId), from: optional(day), to: optional(day), test: optional(testLedger) }),
    answers: {
      200: {
        description: "the report",
        schema: object({
          rows: array(usageRow),
          totals: object({ calls: integer(), charged: integer(), amount, cached: integer(), refused: integer() }),
        }),
      },
    },
    handle: async ({ query, csv }, ctx) => {
      chinaDayRange(query.from, query.to); // from after to is refused
      const report = await usageReport(ctx.store, { accountId: query.account, from: query.from, to: query.to, test: query.test === true });
      if (csv) {
        const rows = (async function* () {
          yield* report.rows.map(usageCells);
        })();
        return { status: 200, csv: { filename: "usage.csv", header: USAGE_COLUMNS, rows } };
      }
      return json(200, report);
    },
  }),
];
