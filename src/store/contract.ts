/**
 * What the service keeps: accounts, API keys, subscriber records (keyed hashes only), the audit trail.
 * One contract, an embedded (SQLite) and a scale-out implementation; the request path sees only this.
 */
import type { Credential } from "../api3/authenticate";
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
  /** attempts per China-time day for one number or one identity number; 0 = unlimited */
  dailyCap: number;
  /** in fen (0.01 CNY); below zero the account is in arrears */
  balance: number;
  /** the account lets the service use its KMS keys to decrypt request fields (else FailedOperation.StsUnAuthErrError) */
  kmsAuthorized: boolean;
}

export interface NewAccountDefaults {
  rateLimit: number;
  dailyCap: number;
  balance: number;
}

export type AccountPatch = Partial<
  Pick<Account, "activated" | "identityVerified" | "billing" | "rateLimit" | "dailyCap" | "kmsAuthorized">
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
}

export type VerifyModeName = "simple" | "detailed";

export interface UsageQuery {
  accountId?: string;
  /** China-time days, YYYY-MM-DD, inclusive */
  from?: string;
  to?: string;
}

export interface UsageRow {
  accountId: string;
  day: string;
  mode: VerifyModeName;
  /** answers with a Result */
  calls: number;
  /** ledger rows */
  charged: number;
  /** fen */
  amount: number;
}

export interface ApiKeyInfo {
  secretId: string;
  accountId: string;
  enabled: boolean;
  createdAt: string;
}

/**
 * A subscriber record as stored: HMACs of the normalised values, never the values.
 * status: "active" answers from the hashes; "suspended" is on record but never consistent (-4 OtherMismatch);
 * "busy" makes the source fail (-11) — a stand-in for an outage, for callers testing their error paths.
 */
export type RecordStatus = "active" | "suspended" | "busy";
export interface StoredRecord {
  phoneHash: Buffer;
  nameHash: Buffer;
  idCardHash: Buffer;
  carrier: Carrier;
  status: RecordStatus;
}

export interface AuditEntry {
  at: number;
  requestId: string;
  accountId: string | undefined;
  secretId: string | undefined;
  action: string | undefined;
  code: string;
  mode: VerifyModeName | undefined;
  phoneMasked: string | undefined;
  latencyUs: number;
}

export interface Store {
  createAccount(name: string, defaults: NewAccountDefaults): Promise<Account>;
  listAccounts(): Promise<Account[]>;
  getAccount(accountId: string): Promise<Account | undefined>;
  /** false when no such account exists */
  updateAccount(accountId: string, patch: AccountPatch): Promise<boolean>;
  /** adds `amount` fen; the new balance, or undefined when no such account exists */
  topUp(accountId: string, amount: number): Promise<number | undefined>;

  /** records the charge and debits the balance atomically; a RequestId is charged at most once */
  charge(entry: ChargeEntry): Promise<void>;
  usage(query: UsageQuery): Promise<UsageRow[]>;

  /** Creates a key; `given` imports fixed credentials (a CI key that must not change between runs). */
  createKey(accountId: string, given?: { secretId: string; secretKey: string }): Promise<{ secretId: string; secretKey: string }>;
  listKeys(accountId: string): Promise<ApiKeyInfo[]>;
  /** false when no such key exists */
  disableKey(secretId: string): Promise<boolean>;
  /** false when no such key exists */
  enableKey(secretId: string): Promise<boolean>;
  /** the enabled key with its secret; undefined when unknown or disabled */
  resolveKey(secretId: string): Promise<Credential | undefined>;

  /** Inserts or replaces by phone hash; returns how many of them replaced an existing record. */
  upsertRecords(records: readonly StoredRecord[]): Promise<{ replaced: number }>;
  countRecords(): Promise<number>;
  findRecord(phoneHash: Buffer): Promise<StoredRecord | undefined>;
  /** whether some active record pairs this identity number with another name */
  idCardHeldByOtherName(idCardHash: Buffer, nameHash: Buffer): Promise<boolean>;

  appendAudit(entry: AuditEntry): Promise<void>;

  /** false when the alias is taken in that account and region */
  createKmsKey(key: KmsKey): Promise<boolean>;
  /** the key when it belongs to this account (and region, when given); never another account's */
  getKmsKey(accountId: string, keyId: string, region?: string): Promise<KmsKey | undefined>;
  listKmsKeys(accountId: string, region: string, offset: number, limit: number): Promise<{ keyIds: string[]; total: number }>;
  countKmsKeys(accountId: string): Promise<number>;
  setKmsKeyState(accountId: string, keyId: string, state: KmsKeyState): Promise<void>;

  /** resolves when the store answers (readiness) */
  ping(): Promise<void>;

  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
