/**
 * The embedded store: one SQLite file under the data directory (better-sqlite3 12).
 * WAL lets the CLI write (new keys, imports) while a server reads, so changes are seen on the next request.
 */
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import type { Credential } from "../api3/authenticate";
import type { FailureSink } from "../common/failures";
import type { Keyring } from "../common/keyring";
import type { Carrier } from "../rules/tables";
import type {
  Account,
  AccountPatch,
  ApiKeyInfo,
  AuditEntry,
  ChargeEntry,
  KmsKey,
  KmsKeyState,
  NewAccountDefaults,
  RecordStatus,
  Store,
  StoredRecord,
  UsageQuery,
  UsageRow,
  VerifyModeName,
} from "./contract";
import { GroupCommit } from "./group-commit";
import { WriterThread } from "./writer-thread";
import type { DailyAttempt } from "./sqlite-writer";
import type { DailyCountLog } from "../limits/contract";
import { MIGRATIONS } from "./migrations";
import { patchEntries, toAccount, type AccountRow } from "./rows";
import { isPlausibleSecretId, newAccountId, newSecretId, newSecretKey } from "./ids";

export const DATABASE_FILE = "sanyao.db";

/** Pauses before the writer thread is started again: doubling from `first` while it stops within `stable` ms. */
const RESTART_DELAY_MS = { first: 500, max: 10_000, stable: 30_000 };

/**
 * Durability of a commit. "normal" (WAL, synchronous=NORMAL): a committed ledger row survives a crash of the
 * process; a power loss may take the last commits before the next checkpoint. "full": every commit is fsynced
 * before the answer goes out (group commit spreads the cost over concurrent requests).
 */
export type SqliteSync = "normal" | "full";

interface KmsKeyRow {
  key_id: string;
  account_id: string;
  region: string;
  alias: string;
  description: string;
  key_usage: string;
  state: string;
  created_at: number;
  material_sealed: Buffer;
}
interface UsagePart {
  account_id: string;
  day: string;
  mode: string;
  n: number;
  amount: number;
}
interface KeyRow {
  secret_id: string;
  account_id: string;
  secret_sealed: Buffer;
  enabled: number;
  created_at: string;
}
interface RecordRow {
  phone_hash: Buffer;
  name_hash: Buffer;
  idcard_hash: Buffer;
  carrier: string;
  status: string;
}

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

// Usage days are China-time calendar days, like the daily caps.
const CHINA_DAY = "date(at / 1000 + 8 * 3600, 'unixepoch')";

export class SqliteStore implements Store, DailyCountLog {
  readonly db: Database.Database;
  private readonly stmt;

  private readonly writes: GroupCommit<ChargeEntry, AuditEntry | DailyAttempt>;

  constructor(
    dataDir: string,
    private readonly keyring: Keyring,
    private readonly reportFailure: FailureSink,
    private readonly sync: SqliteSync = "normal",
  ) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.db = new Database(path.join(dataDir, DATABASE_FILE));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    // Reads of a large record set stay in memory: 64 MiB of page cache and the file mapped.
    this.db.pragma("cache_size = -65536");
    this.db.pragma("mmap_size = 1073741824");
    migrate(this.db);
    const db = this.db;
    this.stmt = {
      insertAccount: db.prepare(
        "INSERT INTO accounts (account_id, name, created_at, rate_limit, daily_cap, balance) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      topUp: db
        .prepare<[number, string], number>("UPDATE accounts SET balance = balance + ? WHERE account_id = ? RETURNING balance")
        .pluck(),

      listAccounts: db.prepare<[], AccountRow>("SELECT * FROM accounts ORDER BY created_at, account_id"),
      getAccount: db.prepare<[string], AccountRow>("SELECT * FROM accounts WHERE account_id = ?"),
      insertKey: db.prepare("INSERT INTO api_keys (secret_id, account_id, secret_sealed, enabled, created_at) VALUES (?, ?, ?, 1, ?)"),
      listKeys: db.prepare<[string], KeyRow>("SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at, secret_id"),
      setKeyEnabled: db.prepare<[number, string]>("UPDATE api_keys SET enabled = ? WHERE secret_id = ?"),
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
        .prepare<[Buffer, Buffer], number>("SELECT 1 FROM records WHERE idcard_hash = ? AND name_hash <> ? AND status = 'active' LIMIT 1")
        .pluck(),

      insertKmsKey: db.prepare(
        `INSERT INTO kms_keys (key_id, account_id, region, alias, description, key_usage, state, created_at, material_sealed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      getKmsKey: db.prepare<[string, string], KmsKeyRow>("SELECT * FROM kms_keys WHERE key_id = ? AND account_id = ?"),
      listKmsKeys: db
        .prepare<[string, string, number, number], string>(
          "SELECT key_id FROM kms_keys WHERE account_id = ? AND region = ? ORDER BY created_at, rowid LIMIT ? OFFSET ?",
        )
        .pluck(),
      countKmsKeysIn: db.prepare<[string, string], number>("SELECT count(*) FROM kms_keys WHERE account_id = ? AND region = ?").pluck(),
      countKmsKeys: db.prepare<[string], number>("SELECT count(*) FROM kms_keys WHERE account_id = ?").pluck(),
      setKmsKeyState: db.prepare("UPDATE kms_keys SET state = ? WHERE account_id = ? AND key_id = ?"),
      loadDay: db.prepare<[string, number], { key: string; n: number }>("SELECT key, n FROM daily_counts WHERE day = ? LIMIT ?"),
      dailyCount: db.prepare<[string, string], number>("SELECT n FROM daily_counts WHERE day = ? AND key = ?").pluck(),
      forgetDays: db.prepare("DELETE FROM daily_counts WHERE day < ?"),
      ledgerHas: db.prepare<[string], number>("SELECT 1 FROM ledger WHERE request_id = ?").pluck(),
      getMeta: db.prepare<[string], string>("SELECT value FROM meta WHERE key = ?").pluck(),
      setMeta: db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    };
    this.writes = new GroupCommit(
      (charges, queued) => {
        const audits: AuditEntry[] = [];
        const daily: DailyAttempt[] = [];
        for (const row of queued) {
          if ("keys" in row) daily.push(row);
          else audits.push(row);
        }
        return this.writer().commit(charges, audits, daily);
      },
      (err) => reportFailure("audit", err),
    );
  }

  private writerThread: WriterThread | undefined;
  private restartAt = 0;
  private restartDelayMs = RESTART_DELAY_MS.first;

  /**
   * The writer thread, started on first use. One that stopped is started again after a pause that doubles while
   * it keeps stopping; until then commits fail at once (their requests answer uncharged) and ping() says why.
   */
  private writer(): WriterThread {
    const current = this.writerThread;
    if (current?.running) return current;
    if (current && Date.now() < this.restartAt) return current;
    const thread = new WriterThread({ file: this.db.name, sync: this.sync }, (err) => {
      this.reportFailure("writer-thread", err);
      // A thread that ran for a while starts the pauses over; one that keeps stopping waits twice as long each time.
      const delay = Date.now() - startedAt > RESTART_DELAY_MS.stable ? RESTART_DELAY_MS.first : this.restartDelayMs;
      this.restartDelayMs = Math.min(delay * 2, RESTART_DELAY_MS.max);
      this.restartAt = Date.now() + delay;
      setTimeout(() => this.db.open && this.writer(), delay).unref();
    });
    const startedAt = Date.now();
    this.writerThread = thread;
    return thread;
  }

  /** The running writer thread's handle (for operators' tooling and tests that stop it as a crash would). */
  get writerThreadHandle(): WriterThread | undefined {
    return this.writerThread;
  }

  async createAccount(name: string, defaults: NewAccountDefaults): Promise<Account> {
    const accountId = newAccountId();
    this.stmt.insertAccount.run(accountId, name, new Date().toISOString(), defaults.rateLimit, defaults.dailyCap, defaults.balance);
    return toAccount(this.stmt.getAccount.get(accountId)!);
  }

  async listAccounts(): Promise<Account[]> {
    return this.stmt.listAccounts.all().map(toAccount);
  }

  async getAccount(accountId: string): Promise<Account | undefined> {
    const row = this.stmt.getAccount.get(accountId);
    return row && toAccount(row);
  }

  async updateAccount(accountId: string, patch: AccountPatch): Promise<boolean> {
    const entries = patchEntries(patch);
    if (entries.length === 0) return this.stmt.getAccount.get(accountId) !== undefined;
    const sets = entries.map(([column]) => `${column} = ?`).join(", ");
    const values = entries.map(([, v]) => v);
    return this.db.prepare(`UPDATE accounts SET ${sets} WHERE account_id = ?`).run(...values, accountId).changes > 0;
  }

  async topUp(accountId: string, amount: number): Promise<number | undefined> {
    return this.stmt.topUp.get(amount, accountId);
  }

  /**
   * Settles once the ledger row and the debit are committed (group commit: one transaction per turn). A commit
   * whose acknowledgement was lost (the writer thread died) is settled by the ledger itself: the row is there or not.
   */
  charge(e: ChargeEntry): Promise<void> {
    return this.writes.charge(e).catch((err: unknown) => {
      if (this.stmt.ledgerHas.get(e.requestId) === undefined) throw err;
    });
  }

  async usage(q: UsageQuery): Promise<UsageRow[]> {
    const where: string[] = [];
    const params: string[] = [];
    const when = (condition: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(condition);
      params.push(value);
    };
    when("account_id = ?", q.accountId);
    when(`${CHINA_DAY} >= ?`, q.from);
    when(`${CHINA_DAY} <= ?`, q.to);
    const filter = where.length ? `AND ${where.join(" AND ")}` : "";
    const group = `GROUP BY account_id, day, mode`;
    const calls = this.db
      .prepare<string[], UsagePart>(
        `SELECT account_id, ${CHINA_DAY} AS day, mode, count(*) AS n, 0 AS amount FROM audit
         WHERE mode IS NOT NULL AND account_id IS NOT NULL ${filter} ${group}`,
      )
      .all(...params);
    const charged = this.db
      .prepare<string[], UsagePart>(
        `SELECT account_id, ${CHINA_DAY} AS day, mode, count(*) AS n, sum(unit_price) AS amount FROM ledger
         WHERE 1 = 1 ${filter} ${group}`,
      )
      .all(...params);
    const rows = new Map<string, UsageRow>();
    const row = (p: UsagePart) => {
      const key = `${p.account_id}|${p.day}|${p.mode}`;
      let r = rows.get(key);
      if (!r) {
        r = { accountId: p.account_id, day: p.day, mode: p.mode as VerifyModeName, calls: 0, charged: 0, amount: 0 };
        rows.set(key, r);
      }
      return r;
    };
    for (const p of calls) row(p).calls = p.n;
    for (const p of charged) Object.assign(row(p), { charged: p.n, amount: p.amount });
    return [...rows.values()].sort(
      (a, b) => a.accountId.localeCompare(b.accountId) || a.day.localeCompare(b.day) || a.mode.localeCompare(b.mode),
    );
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
    return this.stmt.setKeyEnabled.run(0, secretId).changes > 0;
  }

  async enableKey(secretId: string): Promise<boolean> {
    return this.stmt.setKeyEnabled.run(1, secretId).changes > 0;
  }

  async resolveKey(secretId: string): Promise<Credential | undefined> {
    const row = this.stmt.getKey.get(secretId);
    if (row?.enabled !== 1) return undefined;
    return { secretId, accountId: row.account_id, secretKey: this.keyring.open(row.secret_sealed, secretId) };
  }

  async upsertRecords(records: readonly StoredRecord[]): Promise<{ replaced: number }> {
    let replaced = 0;
    this.db
      .transaction(() => {
        for (const r of records) {
          if (this.stmt.recordExists.get(r.phoneHash)) replaced++;
          this.stmt.upsertRecord.run(r.phoneHash, r.nameHash, r.idCardHash, r.carrier, r.status);
        }
      })
      .immediate();
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

  /** Queued: committed with the next charge, or within 20 ms. */
  async appendAudit(e: AuditEntry): Promise<void> {
    this.writes.queue(e);
  }

  loadDay(day: string, limit: number): Map<string, number> {
    return new Map(this.stmt.loadDay.all(day, limit).map((r) => [r.key, r.n]));
  }

  countOf(day: string, key: string): number {
    return this.stmt.dailyCount.get(day, key) ?? 0;
  }

  record(day: string, keys: readonly string[]): void {
    this.writes.queue({ day, keys });
  }

  settled(): Promise<void> {
    return this.writes.flush();
  }

  forgetBefore(day: string): void {
    this.stmt.forgetDays.run(day);
  }

  async createKmsKey(k: KmsKey): Promise<boolean> {
    const sealed = this.keyring.seal(k.material.toString("base64"), `kms:${k.keyId}`);
    const result = this.stmt.insertKmsKey.run(
      k.keyId,
      k.accountId,
      k.region,
      k.alias,
      k.description,
      k.keyUsage,
      k.state,
      k.createdAt,
      sealed,
    );
    return result.changes > 0;
  }

  async getKmsKey(accountId: string, keyId: string, region?: string): Promise<KmsKey | undefined> {
    const r = this.stmt.getKmsKey.get(keyId, accountId);
    if (!r || (region !== undefined && r.region !== region)) return undefined;
    return {
      keyId: r.key_id,
      accountId: r.account_id,
      region: r.region,
      alias: r.alias,
      description: r.description,
      keyUsage: r.key_usage,
      state: r.state as KmsKeyState,
      createdAt: r.created_at,
      material: Buffer.from(this.keyring.open(r.material_sealed, `kms:${r.key_id}`), "base64"),
    };
  }

  async listKmsKeys(accountId: string, region: string, offset: number, limit: number) {
    return {
      keyIds: this.stmt.listKmsKeys.all(accountId, region, limit, offset),
      total: this.stmt.countKmsKeysIn.get(accountId, region)!,
    };
  }

  async countKmsKeys(accountId: string): Promise<number> {
    return this.stmt.countKmsKeys.get(accountId)!;
  }

  async setKmsKeyState(accountId: string, keyId: string, state: KmsKeyState): Promise<void> {
    this.stmt.setKmsKeyState.run(state, accountId, keyId);
  }

  async ping(): Promise<void> {
    this.db.prepare("SELECT 1").get();
    if (this.writerThread && !this.writerThread.running) {
      throw new Error("the writer thread is down: charged calls answer FailedOperation.UnKnown until it restarts");
    }
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.stmt.getMeta.get(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.stmt.setMeta.run(key, value);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writes.flush();
    await this.writerThread?.close();
    this.db.close();
  }
}
