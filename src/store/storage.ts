/**
 * The store as its callers use it: an adapter's rows, with what must be the same on every backend made here once —
 * new identifiers, key validation, the sealing of secrets and KMS material, the usage report.
 */
import type { Keyring } from "../common/keyring";
import { isPlausibleSecretId, newAccountId, newSecretId, newSecretKey, newTopUpId } from "./ids";
import type { Account, ApiKeyInfo, KeySecret, KmsKey, NewAccountDefaults, TopUp, UsageQuery, UsageRow } from "./model";
import type {
  AccountRows,
  AuditRows,
  KmsKeyRows,
  LedgerRows,
  MetaRows,
  OverviewRows,
  RecordRows,
  ScenarioRows,
  SessionRows,
  StoreAdapter,
  UsageCount,
} from "./ports";

export interface Accounts extends Omit<AccountRows, "insert" | "topUp"> {
  create(name: string, defaults: NewAccountDefaults): Promise<Account>;
  /** adds `amount` fen (negative: takes it) and records it with the note; the new balance, or undefined when no such account exists */
  topUp(accountId: string, amount: number, note?: string): Promise<number | undefined>;
  /** topUp, with the top-up as recorded */
  credit(accountId: string, amount: number, note: string): Promise<{ balance: number; topUp: TopUp } | undefined>;
}

export interface ApiKeys {
  /**
   * `given` imports fixed credentials (a CI key that must not change between runs); `test` makes a test key, whose
   * calls answer from the built-in fixtures and charge the test ledger.
   */
  create(
    accountId: string,
    given?: { secretId: string; secretKey: string },
    options?: { test?: boolean },
  ): Promise<{ secretId: string; secretKey: string }>;
  list(accountId: string): Promise<ApiKeyInfo[]>;
  /** false when no such key exists */
  setEnabled(secretId: string, enabled: boolean): Promise<boolean>;
  /** the enabled key with its secret; undefined when unknown or disabled */
  resolve(secretId: string): Promise<KeySecret | undefined>;
  /** the key with its secret, enabled or not (a seed checks a key it names against the one stored) */
  find(secretId: string): Promise<(ApiKeyInfo & { secretKey: string }) | undefined>;
}

export interface Ledger
  extends Pick<
    LedgerRows,
    "charge" | "has" | "chargeOf" | "markUnknown" | "unknowns" | "unknownPage" | "spent" | "teamSpend" | "entries" | "entryCount"
  > {
  usage(query: UsageQuery): Promise<UsageRow[]>;
}

export interface KmsKeys extends Pick<KmsKeyRows, "list" | "count" | "setState"> {
  /** false when the alias is taken in that account and region */
  create(key: KmsKey): Promise<boolean>;
  /** the key when it belongs to this account (and region, when given); never another account's */
  get(accountId: string, keyId: string, region?: string): Promise<KmsKey | undefined>;
}

export interface Storage {
  accounts: Accounts;
  apiKeys: ApiKeys;
  records: RecordRows;
  ledger: Ledger;
  audit: AuditRows;
  kmsKeys: KmsKeys;
  meta: MetaRows;
  scenarios: ScenarioRows;
  sessions: SessionRows;
  overview: OverviewRows;
  exclusive: StoreAdapter["exclusive"];
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StoreInputError extends Error {}

/** A key given with a SecretId the installation has already. */
export class SecretIdTaken extends StoreInputError {}

export function storageOver(adapter: StoreAdapter, keyring: Keyring): Storage {
  const { accounts, apiKeys, kmsKeys, ledger } = adapter;
  return {
    accounts: {
      create: (name, d) =>
        accounts.insert({
          accountId: newAccountId(),
          name,
          createdAt: new Date().toISOString(),
          rateLimit: d.rateLimit,
          rateLimits: d.rateLimits ?? {},
          dailyCap: d.dailyCap,
          balance: d.balance,
        }),
      list: () => accounts.list(),
      page: (query) => accounts.page(query),
      get: (accountId) => accounts.get(accountId),
      update: (accountId, patch) => accounts.update(accountId, patch),
      topUp: async (accountId, amount, note = "") => {
        const at = Date.now();
        return accounts.topUp({ id: newTopUpId(at), accountId, amount, note, at });
      },
      async credit(accountId, amount, note) {
        const at = Date.now();
        const topUp = { id: newTopUpId(at), accountId, amount, note, at };
        const balance = await accounts.topUp(topUp);
        return balance === undefined ? undefined : { balance, topUp };
      },
      topUps: (accountId, offset, limit) => accounts.topUps(accountId, offset, limit),
    },
    apiKeys: {
      async create(accountId, given, options) {
        const secretId = given?.secretId ?? newSecretId();
        const secretKey = given?.secretKey ?? newSecretKey();
        if (!isPlausibleSecretId(secretId)) throw new StoreInputError("A SecretId is 8 to 128 letters, digits, '-' or '_'.");
        if (secretKey.length < 16) throw new StoreInputError("A SecretKey has at least 16 characters.");
        if (!(await accounts.get(accountId))) throw new StoreInputError(`No account ${accountId}.`);
        const row = {
          secretId,
          accountId,
          secretSealed: keyring.seal(secretKey, secretId),
          enabled: true,
          test: options?.test === true,
          createdAt: new Date().toISOString(),
        };
        if (!(await apiKeys.insert(row))) throw new SecretIdTaken("That SecretId exists already.");
        return { secretId, secretKey };
      },
      list: async (accountId) =>
        (await apiKeys.list(accountId)).map((r) => ({
          secretId: r.secretId,
          accountId: r.accountId,
          enabled: r.enabled,
          test: r.test,
          createdAt: r.createdAt,
        })),
      setEnabled: (secretId, enabled) => apiKeys.setEnabled(secretId, enabled),
      async resolve(secretId) {
        const row = await apiKeys.get(secretId);
        if (!row?.enabled) return undefined;
        return { secretId, accountId: row.accountId, secretKey: keyring.open(row.secretSealed, secretId), test: row.test };
      },
      async find(secretId) {
        const row = await apiKeys.get(secretId);
        if (!row) return undefined;
        const { secretSealed, ...info } = row;
        return { ...info, secretKey: keyring.open(secretSealed, secretId) };
      },
    },
    records: adapter.records,
    ledger: {
      charge: (entry) => ledger.charge(entry),
      has: (requestId) => ledger.has(requestId),
      chargeOf: (requestId) => ledger.chargeOf(requestId),
      markUnknown: (entry) => ledger.markUnknown(entry),
      unknowns: (query) => ledger.unknowns(query),
      unknownPage: (query) => ledger.unknownPage(query),
      spent: (accountId, sinceMs) => ledger.spent(accountId, sinceMs),
      teamSpend: (sinceMs) => ledger.teamSpend(sinceMs),
      entries: (query) => ledger.entries(query),
      entryCount: (query) => ledger.entryCount(query),
      usage: async (query) => usageReport(await ledger.usage(query)),
    },
    audit: adapter.audit,
    kmsKeys: {
      create: ({ material, ...key }) =>
        kmsKeys.insert({ ...key, materialSealed: keyring.seal(material.toString("base64"), `kms:${key.keyId}`) }),
      async get(accountId, keyId, region) {
        const row = await kmsKeys.get(accountId, keyId);
        if (!row || (region !== undefined && row.region !== region)) return undefined;
        const { materialSealed, ...key } = row;
        return { ...key, material: Buffer.from(keyring.open(materialSealed, `kms:${key.keyId}`), "base64") };
      },
      list: (accountId, region, offset, limit) => kmsKeys.list(accountId, region, offset, limit),
      count: (accountId) => kmsKeys.count(accountId),
      setState: (accountId, keyId, state) => kmsKeys.setState(accountId, keyId, state),
    },
    meta: adapter.meta,
    scenarios: adapter.scenarios,
    sessions: adapter.sessions,
    overview: adapter.overview,
    exclusive: (name, work) => adapter.exclusive(name, work),
    ping: () => adapter.ping(),
    close: () => adapter.close(),
  };
}

/** One row per account, day, action and mode: calls from the audit trail beside charges from the ledger. */
export function usageReport(counts: {
  calls: readonly UsageCount[];
  charged: readonly UsageCount[];
  refused: readonly UsageCount[];
}): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  const row = (c: UsageCount) => {
    const key = `${c.accountId}|${c.day}|${c.action}|${c.mode}`;
    let r = rows.get(key);
    if (!r) {
      r = { accountId: c.accountId, day: c.day, action: c.action, mode: c.mode, calls: 0, charged: 0, amount: 0, cached: 0, refused: 0 };
      rows.set(key, r);
    }
    return r;
  };
  for (const c of counts.calls) Object.assign(row(c), { calls: c.n, cached: c.cached ?? 0 });
  for (const c of counts.refused) row(c).refused = c.n;
  for (const c of counts.charged) Object.assign(row(c), { charged: c.n, amount: c.amount });
  return [...rows.values()].sort(
    (a, b) =>
      a.accountId.localeCompare(b.accountId) ||
      a.day.localeCompare(b.day) ||
      a.action.localeCompare(b.action) ||
      a.mode.localeCompare(b.mode),
  );
}
