/**
 * The embedded store: one SQLite file under the data directory (better-sqlite3 12).
 * WAL lets the CLI write (new keys, imports) while a server reads, so changes are seen on the next request.
 */
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import type { Credential } from "../api3/authenticate";
import type { Keyring } from "../secret";
import type { Carrier } from "../rules/tables";
import type { Account, ApiKeyInfo, AuditEntry, RecordStatus, Store, StoredRecord } from "./contract";
import { MIGRATIONS } from "./migrations";
import { isPlausibleSecretId, newAccountId, newSecretId, newSecretKey } from "./ids";

export const DATABASE_FILE = "sanyao.db";

interface AccountRow { account_id: string; name: string; created_at: string }
interface KeyRow { secret_id: string; account_id: string; secret_sealed: Buffer; enabled: number; created_at: string }
interface RecordRow { phone_hash: Buffer; name_hash: Buffer; idcard_hash: Buffer; carrier: string; status: string }

function migrate(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sqlite);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

const toAccount = (r: AccountRow): Account => ({ accountId: r.account_id, name: r.name, createdAt: r.created_at });

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly stmt;

  constructor(dataDir: string, private readonly keyring: Keyring) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, DATABASE_FILE));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    migrate(this.db);
    const db = this.db;
    this.stmt = {
      insertAccount: db.prepare("INSERT INTO accounts (account_id, name, created_at) VALUES (?, ?, ?)"),
      listAccounts: db.prepare<[], AccountRow>("SELECT * FROM accounts ORDER BY created_at, account_id"),
      getAccount: db.prepare<[string], AccountRow>("SELECT * FROM accounts WHERE account_id = ?"),
      insertKey: db.prepare("INSERT INTO api_keys (secret_id, account_id, secret_sealed, enabled, created_at) VALUES (?, ?, ?, 1, ?)"),
      listKeys: db.prepare<[string], KeyRow>("SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at, secret_id"),
      disableKey: db.prepare("UPDATE api_keys SET enabled = 0 WHERE secret_id = ?"),
      getKey: db.prepare<[string], KeyRow>("SELECT * FROM api_keys WHERE secret_id = ?"),
      upsertRecord: db.prepare(
        `INSERT INTO records (phone_hash, name_hash, idcard_hash, carrier, status) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(phone_hash) DO UPDATE SET name_hash = excluded.name_hash, idcard_hash = excluded.idcard_hash,
           carrier = excluded.carrier, status = excluded.status`,
      ),
      recordExists: db.prepare<[Buffer], { one: number }>("SELECT 1 AS one FROM records WHERE phone_hash = ?").pluck(),
      countRecords: db.prepare<[], number>("SELECT count(*) FROM records").pluck(),
      findRecord: db.prepare<[Buffer], RecordRow>("SELECT * FROM records WHERE phone_hash = ?"),
      idCardOtherName: db
        .prepare<[Buffer, Buffer], number>(
          "SELECT 1 FROM records WHERE idcard_hash = ? AND name_hash <> ? AND status = 'active' LIMIT 1",
        )
        .pluck(),
      insertAudit: db.prepare(
        `INSERT INTO audit (at, request_id, account_id, secret_id, action, code, phone_masked, latency_us)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getMeta: db.prepare<[string], string>("SELECT value FROM meta WHERE key = ?").pluck(),
      setMeta: db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    };
  }

  async createAccount(name: string): Promise<Account> {
    const account = { accountId: newAccountId(), name, createdAt: new Date().toISOString() };
    this.stmt.insertAccount.run(account.accountId, account.name, account.createdAt);
    return account;
  }

  async listAccounts(): Promise<Account[]> {
    return this.stmt.listAccounts.all().map(toAccount);
  }

  async getAccount(accountId: string): Promise<Account | undefined> {
    const row = this.stmt.getAccount.get(accountId);
    return row && toAccount(row);
  }

  async createKey(accountId: string, given?: { secretId: string; secretKey: string }) {
    if (!this.stmt.getAccount.get(accountId)) throw new Error(`No account ${accountId}.`);
    const secretId = given?.secretId ?? newSecretId();
    const secretKey = given?.secretKey ?? newSecretKey();
    if (!isPlausibleSecretId(secretId)) throw new Error("A SecretId is 8 to 128 letters, digits, '-' or '_'.");
    if (secretKey.length < 16) throw new Error("A SecretKey has at least 16 characters.");
    if (this.stmt.getKey.get(secretId)) throw new Error("That SecretId exists already.");
    this.stmt.insertKey.run(secretId, accountId, this.keyring.seal(secretKey, secretId), new Date().toISOString());
    return { secretId, secretKey };
  }

  async listKeys(accountId: string): Promise<ApiKeyInfo[]> {
    return this.stmt.listKeys.all(accountId).map((r) => ({
      secretId: r.secret_id,
      accountId: r.account_id,
      enabled: r.enabled === 1,
      createdAt: r.created_at,
    }));
  }

  async disableKey(secretId: string): Promise<boolean> {
    return this.stmt.disableKey.run(secretId).changes > 0;
  }

  async resolveKey(secretId: string): Promise<Credential | undefined> {
    const row = this.stmt.getKey.get(secretId);
    if (!row || row.enabled !== 1) return undefined;
    return { secretId, accountId: row.account_id, secretKey: this.keyring.open(row.secret_sealed, secretId) };
  }

  async upsertRecords(records: readonly StoredRecord[]): Promise<{ replaced: number }> {
    let replaced = 0;
    this.db.transaction(() => {
      for (const r of records) {
        if (this.stmt.recordExists.get(r.phoneHash)) replaced++;
        this.stmt.upsertRecord.run(r.phoneHash, r.nameHash, r.idCardHash, r.carrier, r.status);
      }
    }).immediate();
    return { replaced };
  }

  async countRecords(): Promise<number> {
    return this.stmt.countRecords.get()!;
  }

  async findRecord(phoneHash: Buffer): Promise<StoredRecord | undefined> {
    const row = this.stmt.findRecord.get(phoneHash);
    if (!row) return undefined;
    return {
      phoneHash: row.phone_hash,
      nameHash: row.name_hash,
      idCardHash: row.idcard_hash,
      carrier: row.carrier as Carrier,
      status: row.status as RecordStatus,
    };
  }

  async idCardHeldByOtherName(idCardHash: Buffer, nameHash: Buffer): Promise<boolean> {
    return this.stmt.idCardOtherName.get(idCardHash, nameHash) !== undefined;
  }

  async appendAudit(e: AuditEntry): Promise<void> {
    this.stmt.insertAudit.run(e.at, e.requestId, e.accountId ?? null, e.secretId ?? null, e.action ?? null, e.code,
      e.phoneMasked ?? null, e.latencyUs);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.stmt.getMeta.get(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.stmt.setMeta.run(key, value);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
