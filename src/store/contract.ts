/**
 * What the service keeps: accounts, API keys, subscriber records (keyed hashes only), the audit trail.
 * One contract, an embedded (SQLite) and a scale-out implementation; the request path sees only this.
 */
import type { Credential } from "../api3/authenticate";
import type { Carrier } from "../rules/tables";

export interface Account {
  accountId: string;
  name: string;
  createdAt: string;
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
  phoneMasked: string | undefined;
  latencyUs: number;
}

export interface Store {
  createAccount(name: string): Promise<Account>;
  listAccounts(): Promise<Account[]>;
  getAccount(accountId: string): Promise<Account | undefined>;

  /** Creates a key; `given` imports fixed credentials (a CI key that must not change between runs). */
  createKey(accountId: string, given?: { secretId: string; secretKey: string }): Promise<{ secretId: string; secretKey: string }>;
  listKeys(accountId: string): Promise<ApiKeyInfo[]>;
  /** false when no such key exists */
  disableKey(secretId: string): Promise<boolean>;
  /** the enabled key with its secret; undefined when unknown or disabled */
  resolveKey(secretId: string): Promise<Credential | undefined>;

  /** Inserts or replaces by phone hash; returns how many of them replaced an existing record. */
  upsertRecords(records: readonly StoredRecord[]): Promise<{ replaced: number }>;
  countRecords(): Promise<number>;
  findRecord(phoneHash: Buffer): Promise<StoredRecord | undefined>;
  /** whether some active record pairs this identity number with another name */
  idCardHeldByOtherName(idCardHash: Buffer, nameHash: Buffer): Promise<boolean>;

  appendAudit(entry: AuditEntry): Promise<void>;

  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
