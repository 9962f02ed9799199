/**
 * What the service keeps, as its callers see it: accounts, API keys, subscriber records (keyed hashes only), the
 * ledger, the audit trail and KMS keys. ports.ts says how an adapter stores them; storage.ts joins the two.
 */
import type { AuditDetail } from "../common/audit";
import type { Carrier } from "../rules/tables";

export type BillingStatus = "ok" | "abnormal";

export interface Account {
  accountId: string;
  name: string;
  createdAt: string;
  /** the service is activated for the account (else UnauthorizedOperation.Nonactivated) */
  activated: boolean;
  /** the account's own identity verification is done (else UnauthorizedOperation.NonAuthorize) */
  identityVerified: boolean;
  billing: BillingStatus;
  /** admitted requests per second and action */
  rateLimit: number;
  /** per-second limits of single actions, in place of `rateLimit` (IdCardVerification's default is 100) */
  rateLimits: Readonly<Record<string, number>>;
  /** attempts per China-time day for one number or one identity number; 0 = unlimited */
  dailyCap: number;
  /** in fen (0.01 CNY); below zero the account is in arrears */
  balance: number;
  /** the account lets the service use its KMS keys to decrypt request fields (else FailedOperation.StsUnAuthErrError) */
  kmsAuthorized: boolean;
  /** gateway mode: fen the account may spend in a China-time calendar month; 0 = no cap */
  monthlyBudget: number;
}

export interface NewAccountDefaults {
  rateLimit: number;
  rateLimits?: Readonly<Record<string, number>>;
  dailyCap: number;
  balance: number;
}

export type AccountPatch = Partial<
  Pick<Account, "activated" | "identityVerified" | "billing" | "rateLimit" | "rateLimits" | "dailyCap" | "kmsAuthorized" | "monthlyBudget">
>;

export type KmsKeyState = "Enabled" | "Disabled";

/** A KMS customer master key; its material is sealed at rest and only handed out opened. */
export interface KmsKey {
  keyId: string;
  accountId: string;
  region: string;
  alias: string;
  description: string;
  keyUsage: string;
  state: KmsKeyState;
  /** Unix seconds */
  createdAt: number;
  material: Buffer;
}

/** One charged answer: written with the balance debit in one transaction, before the answer is sent. */
export interface ChargeEntry {
  requestId: string;
  accountId: string;
  secretId: string;
  action: string;
  mode: VerifyModeName;
  /** fen */
  unitPrice: number;
  /** Unix milliseconds */
  at: number;
  /** a test key's charge: in the test ledger, no debit */
  test?: boolean;
  /** gateway mode: the upstream's RequestId for the call this charge paid for */
  upstreamRequestId?: string;
}

/** Gateway mode: an upstream call sent and never answered; the upstream may have charged it. */
export interface UnknownEntry {
  requestId: string;
  accountId: string;
  secretId: string;
  action: string;
  /** Unix milliseconds */
  at: number;
  reason: string;
}

export type VerifyModeName = "simple" | "detailed";

/** A mode as stored (the ledger's mode, the audit's variant): "detailed", or else "simple". */
export const verifyModeOf = (stored: string): VerifyModeName => (stored === "detailed" ? "detailed" : "simple");

/** Money put into an account by an operator, with the note they gave. */
export interface TopUp {
  id: string;
  accountId: string;
  /** fen */
  amount: number;
  note: string;
  /** Unix milliseconds */
  at: number;
}

/** One page of a listing, and how many rows match in all. */
export interface Page<T> {
  rows: T[];
  total: number;
}

/** A charge as the ledger lists it. */
export interface LedgerEntry {
  requestId: string;
  accountId: string;
  secretId: string;
  action: string;
  mode: VerifyModeName;
  /** fen */
  unitPrice: number;
  /** Unix milliseconds */
  at: number;
  test: boolean;
  upstreamRequestId: string | undefined;
}

/** Which of one account's charges to list: newest first, within [fromMs, toMs), of one action, real or test. */
export interface LedgerQuery {
  accountId: string;
  fromMs?: number;
  toMs?: number;
  action?: string;
  test: boolean;
  limit: number;
  offset?: number;
  /** keyset paging (an export): the entries after this one, in the listing's order */
  after?: { at: number; requestId: string };
}

export interface UsageQuery {
  accountId?: string;
  /** China-time days, YYYY-MM-DD, inclusive */
  from?: string;
  to?: string;
  /** the test ledger and test keys' calls instead of the real ones */
  test?: boolean;
}

export interface UsageRow {
  accountId: string;
  day: string;
  action: string;
  mode: VerifyModeName;
  /** answers with a Result */
  calls: number;
  /** ledger rows */
  charged: number;
  /** fen */
  amount: number;
  /** gateway mode: answers from the cache (no upstream cost) */
  cached: number;
  /** gateway mode: calls refused before the upstream (the team's budget or the upstream's limit) */
  refused: number;
}

export interface ApiKeyInfo {
  secretId: string;
  accountId: string;
  enabled: boolean;
  test: boolean;
  createdAt: string;
}

/**
 * A subscriber record as stored: HMACs of the normalised values, never the values.
 * status: "active" answers from the hashes; "suspended" is on record but never consistent (-4 OtherMismatch);
 * "busy" makes the source fail (-11) — a stand-in for an outage, for callers testing their error paths.
 */
export type RecordStatus = "active" | "suspended" | "busy";
/** The line's state as MobileStatus reports it in StatusCode; absent: a normal, active line. */
export type LineStatus = "normal" | "suspended" | "cancelled" | "not-on-network" | "unusable";
export interface StoredRecord {
  phoneHash: Buffer;
  nameHash: Buffer;
  idCardHash: Buffer;
  carrier: Carrier;
  status: RecordStatus;
  lineStatus?: LineStatus;
  /** the day the number joined the network, YYYY-MM-DD (MobileNetworkTimeVerification) */
  networkSince?: string;
  /** written on import so hashed inputs find the record (sources/digests.ts); never read back */
  digests?: readonly RecordDigest[];
}

/** One digest algorithm's keyed hashes of a record: of the phone's digest, and of the name's and ID's together. */
export interface RecordDigest {
  key: Buffer;
  pair: Buffer;
  /** md5's only: of the name's digest alone (Mobile2MetaVerify in md5 mode); absent on the others, and on rows older than it */
  name?: Buffer;
}

/** A record found by one of its digest keys: with that row's pair hash, and its name digest where the row keeps one. */
export interface DigestRecord extends StoredRecord {
  pair: Buffer;
  /** md5 rows imported since migration 17 only */
  nameDigest?: Buffer;
}

/** One call as the audit trail keeps it: who, what, the answer's code, and the action's own masked detail. */
export interface AuditEntry {
  at: number;
  requestId: string;
  accountId: string | undefined;
  secretId: string | undefined;
  action: string | undefined;
  code: string;
  detail: AuditDetail | undefined;
  latencyUs: number;
  /** the call was made with a test key */
  test?: boolean;
  /** the test-kit scenario that shaped the answer */
  scenario?: string;
  /** gateway mode: the answer came from the cache of paid answers ("hit"), or went upstream and was kept ("miss") */
  cache?: "hit" | "miss";
}

/** An enabled API key with its opened secret: what authentication needs. */
export interface KeySecret {
  secretId: string;
  accountId: string;
  secretKey: string;
  test: boolean;
}
