/**
 * What a storage adapter provides, one port per aggregate. Adapters (sqlite/, postgres/) store and fetch rows and
 * nothing more: identifiers, validation, sealing and the usage report are made once, above them, in storage.ts.
 */
import type { Carrier } from "../rules/tables";
import type { PackedRecords } from "./packed-records";
import type {
  Account,
  AccountPatch,
  AuditEntry,
  ChargeEntry,
  DigestRecord,
  KmsKey,
  KmsKeyState,
  LedgerEntry,
  LedgerQuery,
  Page,
  RecordStatus,
  StoredRecord,
  TopUp,
  UnknownEntry,
  UsageQuery,
  VerifyModeName,
} from "./model";

export interface NewAccountRow {
  accountId: string;
  name: string;
  createdAt: string;
  rateLimit: number;
  rateLimits: Readonly<Record<string, number>>;
  dailyCap: number;
  balance: number;
}

export interface AccountRows {
  insert(row: NewAccountRow): Promise<Account>;
  list(): Promise<Account[]>;
  /** oldest first; `search`: a part of the name or the id, any case */
  page(query: { search?: string; offset: number; limit: number }): Promise<Page<Account>>;
  get(accountId: string): Promise<Account | undefined>;
  /** false when no such account exists */
  update(accountId: string, patch: AccountPatch): Promise<boolean>;
  /** adds `amount` fen and records the top-up, in one transaction; the new balance, or undefined when no such account exists */
  topUp(entry: TopUp): Promise<number | undefined>;
  /** the account's top-ups, newest first */
  topUps(accountId: string, offset: number, limit: number): Promise<Page<TopUp>>;
}

/** An API key as stored: its secret sealed under the installation secret. */
export interface ApiKeyRow {
  secretId: string;
  accountId: string;
  secretSealed: Buffer;
  enabled: boolean;
  /** a test key: answers from the built-in fixtures, charges into the test ledger */
  test: boolean;
  createdAt: string;
}

export interface ApiKeyRows {
  /** false when the SecretId exists already */
  insert(row: ApiKeyRow): Promise<boolean>;
  get(secretId: string): Promise<ApiKeyRow | undefined>;
  /** oldest first */
  list(accountId: string): Promise<ApiKeyRow[]>;
  /** false when no such key exists */
  setEnabled(secretId: string, enabled: boolean): Promise<boolean>;
}

export interface RecordRows {
  /** Inserts or replaces by phone hash; returns how many of them replaced an existing record. */
  upsert(records: readonly StoredRecord[]): Promise<{ replaced: number }>;
  /**
   * Loads records in bulk, all or nothing: the batches are staged as they come, then applied in one transaction
   * (a phone imported again is replaced; within the batches the last of a phone wins). If the batches fail, or
   * the process dies, before they end, nothing is applied. `replaced` counts as `upsert` does. `signal` gives the
   * load up, nothing applied, while it waits for another load's end (in this process; on PostgreSQL, in another
   * too); once its turn has come, the batches are the caller's to end (an import's batches check the signal).
   */
  load(batches: AsyncIterable<PackedRecords>, signal?: AbortSignal): Promise<{ loaded: number; replaced: number }>;
  count(): Promise<number>;
  find(phoneHash: Buffer): Promise<StoredRecord | undefined>;
  /** the records that carry this identity number (at most `limit`) */
  findByIdCard(idCardHash: Buffer, limit: number): Promise<StoredRecord[]>;
  /** the record a digest key belongs to, with that digest's pair hash and, on an md5 row that keeps one, its name digest (hashed inputs) */
  findByDigest(key: Buffer): Promise<DigestRecord | undefined>;
  /** whether some active record pairs this identity number with another name */
  idCardHeldByOtherName(idCardHash: Buffer, nameHash: Buffer): Promise<boolean>;
  /** how many records there are of each carrier and status (counted in the store, never read out) */
  stats(): Promise<Array<{ carrier: Carrier; status: RecordStatus; n: number }>>;
  /**
   * Reads the records into the page cache (a server's start, in the background): records.db, or on PostgreSQL
   * through pg_prewarm where the database has it; until done or aborted.
   */
  warm?(signal: AbortSignal): Promise<Warmed>;
  /**
   * Walks the records through this process's own cache of them (records.db's pages past SQLite's map), in slices
   * between requests, until done or aborted: every serving process, after `warm` where it reads.
   */
  fillCache?(signal: AbortSignal): Promise<CacheWalk>;
}

/** What a walk of the records through a process's own cache did: rows walked, the time it took, and whether it ended. */
export interface CacheWalk {
  rows: number;
  seconds: number;
  /** false: stopped before the end (the server stopped) */
  complete: boolean;
  /** why nothing was walked, when nothing needed to be (the map holds the whole file) */
  skipped?: string;
}

/** What a read of the records into the page cache did. */
export interface Warmed {
  /** bytes read, and what was to be read */
  bytes: number;
  of: number;
  seconds: number;
  /** what bounded the read, when `of` is less than there was (half the memory available; effective_cache_size less shared_buffers) */
  boundBy?: string;
  /** why nothing was read, when nothing could be (PostgreSQL without pg_prewarm) */
  skipped?: string;
  /** relations left after a failure (the others were read), and the first failure's message */
  failed?: { relations: number; first: string };
}

/** Calls (from the audit trail) or charges (from the ledger) of one account, China-time day, action and mode. */
export interface UsageCount {
  accountId: string;
  day: string;
  action: string;
  mode: VerifyModeName;
  n: number;
  /** fen; 0 for calls */
  amount: number;
  /** calls only: how many of them the cache answered */
  cached?: number;
}

export interface LedgerRows {
  /**
   * The ledger row and the balance debit in one transaction. A RequestId is charged at most once: charging one
   * already in the ledger settles without a second debit (so a commit whose acknowledgement was lost can be retried).
   */
  charge(entry: ChargeEntry): Promise<void>;
  /** whether the ledger holds a charge with this RequestId (a charge whose outcome was not seen, read back) */
  has(requestId: string): Promise<boolean>;
  /** the fen charged for this RequestId (real or test ledger), or undefined when it was not charged */
  chargeOf(requestId: string): Promise<number | undefined>;
  usage(query: UsageQuery): Promise<{ calls: UsageCount[]; charged: UsageCount[]; refused: UsageCount[] }>;
  /** gateway mode: an upstream call whose answer was lost (written at once, never twice for one RequestId) */
  markUnknown(entry: UnknownEntry): Promise<void>;
  /** oldest first */
  unknowns(query: UsageQuery): Promise<UnknownEntry[]>;
  /** newest first, one page (of one account, when given) */
  unknownPage(query: { accountId?: string; offset: number; limit: number }): Promise<Page<UnknownEntry>>;
  /** fen charged to the account (test keys' charges aside) from `sinceMs` on */
  spent(accountId: string, sinceMs: number): Promise<number>;
  /** each account with a monthly budget or a charge from `sinceMs` on: its budget and what it spent (test keys aside) */
  teamSpend(sinceMs: number): Promise<Array<{ accountId: string; name: string; monthlyBudget: number; spent: number }>>;
  /** one account's charges, newest first */
  entries(query: LedgerQuery): Promise<LedgerEntry[]>;
  /** how many charges the query matches in all (its paging aside) */
  entryCount(query: Omit<LedgerQuery, "limit" | "offset" | "after">): Promise<number>;
}

export interface AuditRows {
  /** queued and written in batches: a failure is reported by the store (its failure sink), never to the caller */
  append(entry: AuditEntry): void;
  /** gateway mode: answers from the cache (hit) and upstream answers kept in it (miss) from `sinceMs` on */
  cacheCounts(sinceMs: number): Promise<{ hits: number; misses: number }>;
}

/** A KMS key as stored: its material sealed under the installation secret. */
export interface KmsKeyRow extends Omit<KmsKey, "material"> {
  materialSealed: Buffer;
}

export interface KmsKeyRows {
  /** false when the alias is taken in that account and region */
  insert(row: KmsKeyRow): Promise<boolean>;
  get(accountId: string, keyId: string): Promise<KmsKeyRow | undefined>;
  /** oldest first */
  list(accountId: string, region: string, offset: number, limit: number): Promise<{ keyIds: string[]; total: number }>;
  count(accountId: string): Promise<number>;
  setState(accountId: string, keyId: string, state: KmsKeyState): Promise<void>;
}

export interface MetaRows {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  /** stores the value unless the key has one; returns the stored value (so instances racing at first start agree) */
  setIfAbsent(key: string, value: string): Promise<string>;
  /** deletes the key's row, if there is one */
  remove(key: string): Promise<void>;
}

/** A scenario of the test kit as stored: its spec as JSON (testkit/scenario.ts reads it), its uses left apart. */
export interface ScenarioRow {
  id: string;
  accountId: string;
  spec: string;
  /** uses left; null when it is not limited to a number of calls */
  remaining: number | null;
  createdAt: string;
}

export interface ScenarioRows {
  insert(row: ScenarioRow): Promise<void>;
  /** oldest first */
  list(): Promise<ScenarioRow[]>;
  /** false when no such scenario exists */
  remove(id: string): Promise<boolean>;
  /** removes every scenario (of one account, when given); how many there were */
  clear(accountId?: string): Promise<number>;
  /** takes one of a limited scenario's uses, atomically across instances; false when none is left */
  use(id: string): Promise<boolean>;
}

/** A console sign-in as stored: the digest of its cookie (never the cookie), its role and its times (ms). */
export interface SessionRow {
  digest: Buffer;
  role: "operator" | "read-only";
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionRows {
  insert(row: SessionRow): Promise<void>;
  get(digest: Buffer): Promise<SessionRow | undefined>;
  /** marks the session used at `at` */
  touch(digest: Buffer, at: number): Promise<void>;
  /** false when no such session exists */
  remove(digest: Buffer): Promise<boolean>;
  /** removes the sessions idle since before `lastSeenBefore` or made before `createdBefore`; how many */
  prune(lastSeenBefore: number, createdBefore: number): Promise<number>;
}

/** The rows of [fromMs, toMs), counted in buckets of `bucketMs`: bucket n starts at originMs + n × bucketMs. */
export interface OverviewRange {
  originMs: number;
  fromMs: number;
  toMs: number;
  bucketMs: number;
}

export type OverviewCalls = Array<{ bucket: number; action: string; code: string; n: number }>;
export type OverviewCharges = Array<{ bucket: number; action: string; n: number; amount: number }>;
export type OverviewLatencies = Array<{ latencyClass: number; n: number }>;

/**
 * The overview's counts (test keys' calls and charges aside), made in the store: from the hourly rollup for whole
 * hours rolled up, from covering indexes on time (audit_overview, ledger_overview) for the rest.
 */
export interface OverviewRows {
  /** answered calls by bucket, action and answer code (a Result, OK or an error code), from the audit trail */
  calls(range: OverviewRange): Promise<OverviewCalls>;
  /** ledger rows by bucket and action, with their fen */
  charges(range: OverviewRange): Promise<OverviewCharges>;
  /** calls by latency class: class k holds latencies of about e^(k / LATENCY_CLASSES_PER_E) µs (buckets merged) */
  latencies(range: OverviewRange): Promise<OverviewLatencies>;
  /** the same three from the hourly rollup: whole hours in the range, bucketMs a whole number of hours */
  rolled(range: OverviewRange): Promise<{ calls: OverviewCalls; charges: OverviewCharges; latencies: OverviewLatencies }>;
  /** rolls the hours in [fromMs, toMs) up (whole hours; an hour rolled up already is left as it is), in one transaction */
  rollUp(fromMs: number, toMs: number): Promise<void>;
  /** the time of the oldest call or charge, if any (where a first rollup starts) */
  oldest(): Promise<number | undefined>;
}

/** Latency classes per factor e: 20 makes each class about 5 % wide. */
export const LATENCY_CLASSES_PER_E = 20;

export interface StoreAdapter {
  accounts: AccountRows;
  apiKeys: ApiKeyRows;
  records: RecordRows;
  ledger: LedgerRows;
  audit: AuditRows;
  kmsKeys: KmsKeyRows;
  meta: MetaRows;
  scenarios: ScenarioRows;
  sessions: SessionRows;
  overview: OverviewRows;
  /**
   * Runs `work` while holding the installation's lock `name`: callers holding the same name run one at a time, across
   * instances in scale-out (two instances applying one seed at start). Work that needs it is short and rare.
   */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** resolves when the store answers (readiness) */
  ping(): Promise<void>;
  /** writes what is queued, then closes */
  close(): Promise<void>;
}
