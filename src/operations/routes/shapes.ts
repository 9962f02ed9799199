/** The shapes several routes share: identifiers, amounts, paging, and the answers the document names once. */
import { ACCOUNT_BOUNDS } from "../../admin/accounts";
import { DAY_PATTERN } from "../../admin/days";
import { boolean, integer, named, object, oneOf, optional, record, string } from "../schema";

export const accountId = string({ pattern: /^[A-Za-z0-9_-]{1,64}$/, hint: "an account id", examples: ["100000000001"] });
export const secretId = string({ pattern: /^[A-Za-z0-9_-]{8,128}$/, hint: "a SecretId: 8 to 128 letters, digits, '-' or '_'" });
export const day = string({ pattern: DAY_PATTERN, hint: "a China-time day YYYY-MM-DD", examples: ["2026-12-02"] });
export const isoTime = string({ format: "date-time", description: "an ISO 8601 time, UTC" });
export const actionName = string({ pattern: /^[A-Za-z][A-Za-z0-9]{0,63}$/, hint: "an action name, such as PhoneVerification" });

/** CNY as a decimal string with two decimals at most, as the CLI prints and takes it. */
export const amount = string({
  pattern: /^-?\d{1,12}(\.\d{1,2})?$/,
  hint: "an amount in CNY, such as 100 or 12.50",
  examples: ["100.00"],
});

export const paging = {
  offset: optional(integer({ minimum: 0, maximum: 1_000_000_000, description: "rows to skip (default 0)" })),
  limit: optional(integer({ minimum: 1, maximum: 1000, description: "rows in the page (default 50, at most 1000)" })),
};

/** The page asked for, with the defaults. */
export const pageOf = (q: { offset?: number; limit?: number }) => ({ offset: q.offset ?? 0, limit: q.limit ?? 50 });

export const total = integer({ minimum: 0, description: "rows matching in all" });

export const errorAnswer = named(
  "Error",
  object({ error: string({ description: "what went wrong and what to do; never a personal value" }) }),
);

export const accountAnswer = named(
  "Account",
  object({
    accountId: string(),
    name: string(),
    createdAt: isoTime,
    activated: boolean({ description: "false: calls answer UnauthorizedOperation.Nonactivated" }),
    identityVerified: boolean({ description: "false: calls answer UnauthorizedOperation.NonAuthorize" }),
    billing: oneOf(["ok", "abnormal"], { description: "abnormal: calls answer UnauthorizedOperation.ChargeStatusException" }),
    rateLimit: integer({ minimum: 1, description: "admitted requests per second and action" }),
    rateLimits: record(integer({ minimum: 1 }), { description: "per-second limits of single actions, in place of rateLimit" }),
    dailyCap: integer({ minimum: 0, description: "attempts a China-time day for one number or identity number; 0 = unlimited" }),
    balance: amount,
    kmsAuthorized: boolean({ description: "the service may use the account's KMS keys to decrypt fields" }),
    monthlyBudget: amount,
  }),
);

export const keyAnswer = named(
  "ApiKey",
  object({
    secretId: string(),
    accountId: string(),
    enabled: boolean(),
    test: boolean({ description: "a test key: answers from the fixtures, charged to the test ledger" }),
    createdAt: isoTime,
  }),
);

export const topUpAnswer = named(
  "TopUp",
  object({ id: string(), accountId: string(), at: isoTime, amount, note: string({ maxLength: ACCOUNT_BOUNDS.noteLength }) }),
);

export const unknownAnswer = named(
  "UnknownCall",
  object({
    requestId: string(),
    accountId: string(),
    secretId: string(),
    action: string(),
    at: isoTime,
    reason: string({ description: "why the outcome is unknown (a timeout, a lost connection)" }),
  }),
);
