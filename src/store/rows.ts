/** Row shapes both SQL stores share: the accounts table's columns and how they map to an Account; an audit row. */
import type { Account, AccountPatch, AuditEntry, BillingStatus } from "./model";

/** The audit table's columns, in the order of `auditValues`. */
export const AUDIT_COLUMNS = "at, request_id, account_id, secret_id, action, code, variant, subject, latency_us";

/** One audit entry as the values of an INSERT into AUDIT_COLUMNS. */
export function auditValues(e: AuditEntry): Array<string | number | null> {
  return [
    e.at,
    e.requestId,
    e.accountId ?? null,
    e.secretId ?? null,
    e.action ?? null,
    e.code,
    e.detail?.variant ?? null,
    e.detail?.subject ?? null,
    e.latencyUs,
  ];
}

export interface AccountRow {
  account_id: string;
  name: string;
  created_at: string;
  activated: number;
  identity_verified: number;
  billing: string;
  rate_limit: number;
  daily_cap: number;
  /** PostgreSQL returns BIGINT as a string */
  balance: number | string;
  kms_authorized: number;
}

export const toAccount = (r: AccountRow): Account => ({
  accountId: r.account_id,
  name: r.name,
  createdAt: r.created_at,
  activated: r.activated === 1,
  identityVerified: r.identity_verified === 1,
  billing: r.billing as BillingStatus,
  rateLimit: r.rate_limit,
  dailyCap: r.daily_cap,
  balance: Number(r.balance),
  kmsAuthorized: r.kms_authorized === 1,
});

export const PATCH_COLUMNS: Readonly<Record<keyof AccountPatch, string>> = {
  activated: "activated",
  identityVerified: "identity_verified",
  billing: "billing",
  rateLimit: "rate_limit",
  dailyCap: "daily_cap",
  kmsAuthorized: "kms_authorized",
};

/** The columns and values of a patch, booleans stored as 0/1; undefined fields are left alone. */
export function patchEntries(patch: AccountPatch): Array<[column: string, value: unknown]> {
  return (Object.entries(patch) as Array<[keyof AccountPatch, unknown]>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [PATCH_COLUMNS[k], typeof v === "boolean" ? Number(v) : v]);
}
