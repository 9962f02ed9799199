/** Row shapes both SQL stores share: each table's columns and how they map to what the ports hand out; an audit row. */
import type { Carrier } from "../rules/tables";
import {
  type Account,
  type AccountPatch,
  type AuditEntry,
  type BillingStatus,
  type DigestRecord,
  type KmsKeyState,
  type LedgerEntry,
  type LedgerQuery,
  type LineStatus,
  type RecordStatus,
  type StoredRecord,
  type TopUp,
  type UnknownEntry,
  verifyModeOf,
} from "./model";
import type { ApiKeyRow, KmsKeyRow } from "./ports";

/** The audit table's columns, in the order of `auditValues`. */
export const AUDIT_COLUMNS = "at, request_id, account_id, secret_id, action, code, variant, subject, latency_us, test, scenario, cache";

export const AUDIT_COLUMN_COUNT = AUDIT_COLUMNS.split(",").length;

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
    Number(e.test === true),
    e.scenario ?? null,
    e.cache ?? null,
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
  /** JSON: action → per-second limit */
  rate_limits: string;
  daily_cap: number;
  /** PostgreSQL returns BIGINT as a string */
  balance: number | string;
  kms_authorized: number;
  /** PostgreSQL returns BIGINT as a string */
  monthly_budget: number | string;
}

export const toAccount = (r: AccountRow): Account => ({
  accountId: r.account_id,
  name: r.name,
  createdAt: r.created_at,
  activated: r.activated === 1,
  identityVerified: r.identity_verified === 1,
  billing: r.billing as BillingStatus,
  rateLimit: r.rate_limit,
  rateLimits: parseRateLimits(r.rate_limits),
  dailyCap: r.daily_cap,
  balance: Number(r.balance),
  kmsAuthorized: r.kms_authorized === 1,
  monthlyBudget: Number(r.monthly_budget),
});

export const PATCH_COLUMNS: Readonly<Record<keyof AccountPatch, string>> = {
  activated: "activated",
  identityVerified: "identity_verified",
  billing: "billing",
  rateLimit: "rate_limit",
  rateLimits: "rate_limits",
  dailyCap: "daily_cap",
  kmsAuthorized: "kms_authorized",
  monthlyBudget: "monthly_budget",
};

/** The columns and values of a patch, booleans stored as 0/1; undefined fields are left alone. */
export function patchEntries(patch: AccountPatch): Array<[column: string, value: unknown]> {
  return (Object.entries(patch) as Array<[keyof AccountPatch, unknown]>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [PATCH_COLUMNS[k], typeof v === "boolean" ? Number(v) : typeof v === "object" ? JSON.stringify(v) : v]);
}

/** The stored per-action limits; anything but positive integers by name is dropped rather than trusted. */
function parseRateLimits(text: string): Record<string, number> {
  const parsed: unknown = JSON.parse(text || "{}");
  const limits: Record<string, number> = {};
  if (typeof parsed !== "object" || parsed === null) return limits;
  for (const [action, n] of Object.entries(parsed)) if (Number.isSafeInteger(n) && n > 0) limits[action] = n;
  return limits;
}

export interface ApiKeyTableRow {
  secret_id: string;
  account_id: string;
  secret_sealed: Buffer;
  enabled: number;
  test: number;
  created_at: string;
}

export const toApiKeyRow = (r: ApiKeyTableRow): ApiKeyRow => ({
  secretId: r.secret_id,
  accountId: r.account_id,
  secretSealed: r.secret_sealed,
  enabled: r.enabled === 1,
  test: r.test === 1,
  createdAt: r.created_at,
});

export interface RecordTableRow {
  phone_hash: Buffer;
  name_hash: Buffer;
  idcard_hash: Buffer;
  carrier: string;
  status: string;
  line_status: string | null;
  network_since: string | null;
}

export const toStoredRecord = (r: RecordTableRow): StoredRecord => ({
  phoneHash: r.phone_hash,
  nameHash: r.name_hash,
  idCardHash: r.idcard_hash,
  carrier: r.carrier as Carrier,
  status: r.status as RecordStatus,
  ...(r.line_status !== null && { lineStatus: r.line_status as LineStatus }),
  ...(r.network_since !== null && { networkSince: r.network_since }),
});

/**
 * The columns of a record the request path reads by its phone hash, as an array (better-sqlite3's raw rows): the
 * phone hash is the key asked for, not read back. An array and one Buffer fewer than `SELECT *` as an object: a
 * lookup 7.0 -> 5.1 µs (200,000 records, 2 shared vCPU).
 */
export const RECORD_BY_PHONE_COLUMNS = "name_hash, idcard_hash, carrier, status, line_status, network_since";

const RECORD_CARRIERS: ReadonlySet<string> = new Set<Carrier>(["mobile", "telecom", "cucc", "broadnet", ""]);
const RECORD_STATUSES: ReadonlySet<string> = new Set<RecordStatus>(["active", "suspended", "busy"]);
const RECORD_LINE_STATUSES: ReadonlySet<string> = new Set<LineStatus>(["normal", "suspended", "cancelled", "not-on-network", "unusable"]);
const isCarrier = (v: unknown): v is Carrier => typeof v === "string" && RECORD_CARRIERS.has(v);
const isRecordStatus = (v: unknown): v is RecordStatus => typeof v === "string" && RECORD_STATUSES.has(v);
const isLineStatus = (v: unknown): v is LineStatus => typeof v === "string" && RECORD_LINE_STATUSES.has(v);

/** A row of RECORD_BY_PHONE_COLUMNS as a record; a row with a value outside its column's type or values is refused. */
export function recordFromColumns(phoneHash: Buffer, row: readonly unknown[]): StoredRecord {
  const [nameHash, idCardHash, carrier, status, lineStatus, networkSince] = row;
  if (
    !Buffer.isBuffer(nameHash) ||
    !Buffer.isBuffer(idCardHash) ||
    !isCarrier(carrier) ||
    !isRecordStatus(status) ||
    !(lineStatus === null || isLineStatus(lineStatus)) ||
    !(networkSince === null || typeof networkSince === "string")
  ) {
    throw new Error("a record row of unexpected values");
  }
  const record: StoredRecord = { phoneHash, nameHash, idCardHash, carrier, status };
  if (lineStatus !== null) record.lineStatus = lineStatus;
  if (networkSince !== null) record.networkSince = networkSince;
  return record;
}

/** A record found by a digest key, with that digest row's pair hash and (md5 rows since migration 17) its name digest. */
export interface DigestTableRow extends RecordTableRow {
  pair_hash: Buffer;
  name_digest: Buffer | null;
}

/** The record and its digest row's values (DigestRecord); a name digest that is not bytes is read as none. */
export const toDigestRecord = (r: DigestTableRow): DigestRecord => ({
  ...toStoredRecord(r),
  pair: r.pair_hash,
  ...(Buffer.isBuffer(r.name_digest) && { nameDigest: r.name_digest }),
});

/** One carrier and status's count of records, as both stores group them. */
export const recordCount = (r: { carrier: string; status: string; n: number | string }) => ({
  carrier: r.carrier as Carrier,
  status: r.status as RecordStatus,
  n: Number(r.n),
});

/** A record's columns, in the order of the INSERTs of both adapters. */
export const recordValues = (r: StoredRecord) =>
  [r.phoneHash, r.nameHash, r.idCardHash, r.carrier, r.status, r.lineStatus ?? null, r.networkSince ?? null] as const;

export interface KmsKeyTableRow {
  key_id: string;
  account_id: string;
  region: string;
  alias: string;
  description: string;
  key_usage: string;
  state: string;
  /** PostgreSQL returns BIGINT as a string */
  created_at: number | string;
  material_sealed: Buffer;
}

export const toKmsKeyRow = (r: KmsKeyTableRow): KmsKeyRow => ({
  keyId: r.key_id,
  accountId: r.account_id,
  region: r.region,
  alias: r.alias,
  description: r.description,
  keyUsage: r.key_usage,
  state: r.state as KmsKeyState,
  createdAt: Number(r.created_at),
  materialSealed: r.material_sealed,
});

/** The one row a statement always returns (an INSERT … RETURNING, a COUNT): none means the store is broken, said so. */
export function theRow<T>(row: T | undefined, statement: string): T {
  if (row === undefined) throw new Error(`${statement} returned no row`);
  return row;
}

export interface TopUpTableRow {
  id: string;
  account_id: string;
  /** PostgreSQL returns BIGINT as a string */
  amount: number | string;
  note: string;
  at: number | string;
}

export const toTopUp = (r: TopUpTableRow): TopUp => ({
  id: r.id,
  accountId: r.account_id,
  amount: Number(r.amount),
  note: r.note,
  at: Number(r.at),
});

export interface LedgerTableRow {
  request_id: string;
  account_id: string;
  secret_id: string;
  action: string;
  mode: string;
  /** PostgreSQL returns BIGINT as a string */
  unit_price: number | string;
  at: number | string;
  test: number;
  upstream_request_id: string | null;
}

export const toLedgerEntry = (r: LedgerTableRow): LedgerEntry => ({
  requestId: r.request_id,
  accountId: r.account_id,
  secretId: r.secret_id,
  action: r.action,
  mode: verifyModeOf(r.mode),
  unitPrice: Number(r.unit_price),
  at: Number(r.at),
  test: r.test === 1,
  upstreamRequestId: r.upstream_request_id ?? undefined,
});

export interface UnknownTableRow {
  request_id: string;
  account_id: string;
  secret_id: string;
  action: string;
  /** PostgreSQL returns BIGINT as a string */
  at: number | string;
  reason: string;
}

export const toUnknownEntry = (r: UnknownTableRow): UnknownEntry => ({
  requestId: r.request_id,
  accountId: r.account_id,
  secretId: r.secret_id,
  action: r.action,
  at: Number(r.at),
  reason: r.reason,
});

/** A search text as a LIKE pattern that matches it anywhere, its own % and _ taken literally (ESCAPE '\\'). */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The WHERE clause of a ledger listing, in either dialect (`placeholder(n)`: the n-th parameter, from 1): one
 * account, real or test charges, a time range, an action, and the keyset cursor of an export.
 */
export function ledgerFilter(
  q: Omit<LedgerQuery, "limit" | "offset">,
  placeholder: (n: number) => string,
): { where: string; params: Array<string | number> } {
  const where: string[] = [];
  const params: Array<string | number> = [];
  const bind = (value: string | number) => placeholder(params.push(value));
  where.push(`account_id = ${bind(q.accountId)}`, `test = ${bind(Number(q.test))}`);
  if (q.fromMs !== undefined) where.push(`at >= ${bind(q.fromMs)}`);
  if (q.toMs !== undefined) where.push(`at < ${bind(q.toMs)}`);
  if (q.action !== undefined) where.push(`action = ${bind(q.action)}`);
  // A row value: both engines seek the index to it, where an OR of the two columns would scan from the top.
  if (q.after) where.push(`(at, request_id) < (${bind(q.after.at)}, ${bind(q.after.requestId)})`);
  return { where: where.join(" AND "), params };
}

/** The first millisecond of a China-time day YYYY-MM-DD (UTC+8, no daylight saving). */
export const chinaDayStartMs = (day: string): number => Date.parse(`${day}T00:00:00+08:00`);
