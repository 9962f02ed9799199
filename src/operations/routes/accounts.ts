/** Accounts: listed with search and paging, made, changed (states, limits, daily cap, monthly budget), topped up. */
import { ACCOUNT_BOUNDS, changeAccount, createAccount, shownAccount, shownTopUp, topUpAccount } from "../../admin/accounts";
import { InputError } from "../../common/input-error";
import { formatAmount as shownAmount, parseAmount } from "../../common/money";
import { FACEID_ACTIONS } from "../../faceid/tariff";
import { CLOUDAUTH_ACTIONS } from "../../cloudauth/tariff";
import type { OperationsContext } from "../context";
import { json, notFound, routesFor } from "../route";
import { array, boolean, integer, object, oneOf, optional, record, string } from "../schema";
import { accountAnswer, accountId, amount, pageOf, paging, topUpAnswer, total } from "./shapes";

const route = routesFor<OperationsContext>();

const limit = (what: string, minimum: number) => integer({ minimum, maximum: ACCOUNT_BOUNDS.limit, description: what });

/** CNY text as fen, within bounds. */
function fen(text: string, what: string, { positive }: { positive: boolean }): number {
  const value = parseAmount(text);
  if (value === undefined || value > ACCOUNT_BOUNDS.amount || (positive ? value <= 0 : value < 0)) {
    throw new InputError(`${what} is ${positive ? "a positive" : "an"} amount in CNY with at most two decimals, such as 100 or 12.50.`);
  }
  return value;
}

const accountChange = object(
  {
    activated: optional(boolean({ description: "false: calls answer UnauthorizedOperation.Nonactivated" })),
    identityVerified: optional(boolean({ description: "false: calls answer UnauthorizedOperation.NonAuthorize" })),
    billing: optional(oneOf(["ok", "abnormal"], { description: "abnormal: calls answer UnauthorizedOperation.ChargeStatusException" })),
    rateLimit: optional(limit("admitted requests per second, for every action without a limit of its own", 1)),
    rateLimits: optional(
      record(limit("requests per second", 1), {
        key: new RegExp(`^(${[...FACEID_ACTIONS, ...CLOUDAUTH_ACTIONS].join("|")})$`),
        keyHint: `a FaceID or Cloudauth action (${[...FACEID_ACTIONS, ...CLOUDAUTH_ACTIONS].join(", ")})`,
        description: "the single-action limits, replacing those the account had ({} removes them all)",
      }),
    ),
    dailyCap: optional(limit("attempts a China-time day for one number or identity number (0 = unlimited)", 0)),
    kmsAuthorized: optional(boolean({ description: "the service may use the account's KMS keys to decrypt fields" })),
    monthlyBudget: optional(
      string({
        pattern: /^\d{1,12}(\.\d{1,2})?$/,
        hint: "an amount in CNY, such as 5000 or 12.50 (0 = none)",
        description: "gateway mode: CNY the account may spend upstream in a China-time month (0 = none)",
      }),
    ),
  },
  { description: "Only the fields given change; a running server applies them within 250 ms." },
);

export const accountRoutes = [
  route({
    id: "listAccounts",
    method: "GET",
    path: "/_sanyao/accounts",
    group: "accounts",
    summary: "Accounts, oldest first, a page at a time; search by a part of the name or id",
    access: "read",
    query: object({
      search: optional(string({ minLength: 1, maxLength: 200, description: "a part of the name or id, any case" })),
      ...paging,
    }),
    answers: {
      200: {
        description: "one page",
        schema: object({ accounts: array(accountAnswer), total, offset: integer(), limit: integer() }),
      },
    },
    handle: async ({ query }, ctx) => {
      const page = pageOf(query);
      const found = await ctx.store.accounts.page({ search: query.search, ...page });
      return json(200, { accounts: found.rows.map(shownAccount), total: found.total, ...page });
    },
  }),
  route({
    id: "createAccount",
    method: "POST",
    path: "/_sanyao/accounts",
    group: "accounts",
    summary: "Create an account, with the installation's defaults (limits, daily cap, opening balance)",
    access: "write",
    body: object({ name: string({ minLength: 1, maxLength: ACCOUNT_BOUNDS.nameLength, description: "a team, a client" }) }),
    answers: { 201: { description: "created", schema: object({ account: accountAnswer }) } },
    handle: async ({ body }, ctx) => json(201, { account: shownAccount(await createAccount(ctx.store, body.name, ctx.accountDefaults)) }),
  }),
  route({
    id: "getAccount",
    method: "GET",
    path: "/_sanyao/accounts/{accountId}",
    group: "accounts",
    summary: "One account: states, limits, balance",
    access: "read",
    params: object({ accountId }),
    answers: { 200: { description: "the account", schema: object({ account: accountAnswer }) } },
    errors: { 404: "no such account" },
    handle: async ({ params }, ctx) => {
      const account = await ctx.store.accounts.get(params.accountId);
      if (!account) throw notFound(`No account ${params.accountId}.`);
      return json(200, { account: shownAccount(account) });
    },
  }),
  route({
    id: "updateAccount",
    method: "PATCH",
    path: "/_sanyao/accounts/{accountId}",
    group: "accounts",
    summary: "Change an account's states, limits, daily cap or monthly budget",
    access: "write",
    params: object({ accountId }),
    body: accountChange,
    answers: { 200: { description: "the account as it now stands", schema: object({ account: accountAnswer }) } },
    errors: { 404: "no such account" },
    handle: async ({ params, body }, ctx) => {
      const { monthlyBudget, ...rest } = body;
      const account = await changeAccount(ctx.store, params.accountId, {
        ...rest,
        ...(monthlyBudget !== undefined && { monthlyBudget: fen(monthlyBudget, "monthlyBudget", { positive: false }) }),
      });
      if (!account) throw notFound(`No account ${params.accountId}.`);
      return json(200, { account: shownAccount(account) });
    },
  }),
  route({
    id: "topUpAccount",
    method: "POST",
    path: "/_sanyao/accounts/{accountId}/top-ups",
    group: "accounts",
    summary: "Add to an account's balance, with a note kept beside it",
    access: "write",
    params: object({ accountId }),
    body: object({
      amount: string({ pattern: /^\d{1,12}(\.\d{1,2})?$/, hint: "a positive amount in CNY, such as 100 or 12.50" }),
      note: optional(string({ maxLength: ACCOUNT_BOUNDS.noteLength, description: "why: an invoice, a transfer" })),
    }),
    answers: {
      201: { description: "topped up", schema: object({ accountId: string(), balance: amount, topUp: topUpAnswer }) },
    },
    errors: { 404: "no such account" },
    handle: async ({ params, body }, ctx) => {
      const cents = fen(body.amount, "amount", { positive: true });
      const done = await topUpAccount(ctx.store, params.accountId, cents, body.note);
      if (!done) throw notFound(`No account ${params.accountId}.`);
      return json(201, { accountId: params.accountId, balance: shownAmount(done.balance), topUp: shownTopUp(done.topUp) });
    },
  }),
  route({
    id: "listTopUps",
    method: "GET",
    path: "/_sanyao/accounts/{accountId}/top-ups",
    group: "accounts",
    summary: "An account's top-ups with their notes, newest first",
    access: "read",
    params: object({ accountId }),
    query: object(paging),
    answers: {
      200: { description: "one page", schema: object({ topUps: array(topUpAnswer), total, offset: integer(), limit: integer() }) },
    },
    errors: { 404: "no such account" },
    handle: async ({ params, query }, ctx) => {
      if (!(await ctx.store.accounts.get(params.accountId))) throw notFound(`No account ${params.accountId}.`);
      const page = pageOf(query);
      const found = await ctx.store.accounts.topUps(params.accountId, page.offset, page.limit);
      return json(200, { topUps: found.rows.map(shownTopUp), total: found.total, ...page });
    },
  }),
];
