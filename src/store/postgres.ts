/**
 * The scale-out store: PostgreSQL through a `pg` pool, shared by any number of instances. Every query is bounded
 * in time, and a connection failure becomes UnavailableError so requests fail fast and the pool recovers alone.
 */
import { Pool, type PoolClient, type QueryResultRow } from "pg";
import type { Credential } from "../api3/authenticate";
import type { Carrier } from "../rules/tables";
import type { FailureSink } from "../common/failures";
import type { Keyring } from "../common/keyring";
import { UnavailableError } from "../common/unavailable";
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
import { GroupCommit, type CommitResult } from "./group-commit";
import { isPlausibleSecretId, newAccountId, newSecretId, newSecretKey } from "./ids";
import { MIGRATIONS } from "./migrations";
import { AUDIT_COLUMNS, auditValues, patchEntries, toAccount, type AccountRow } from "./rows";

export interface PostgresOptions {
  url: string;
  /** the schema holding sanyao's tables (created when missing) */
  schema: string;
  /** per-statement and connection budget, milliseconds */
  timeoutMs?: number;
  poolSize?: number;
}

const CHINA_DAY = "to_char(to_timestamp((at + 28800000) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
const SAFE_SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresStore implements Store {
  private readonly pool: Pool;
  private readonly writes: GroupCommit<never, AuditEntry>;

  private constructor(
    options: PostgresOptions,
    private readonly keyring: Keyring,
    private readonly reportFailure: FailureSink,
  ) {
    const timeout = options.timeoutMs ?? 3000;
    this.pool = new Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: timeout,
      query_timeout: timeout,
      statement_timeout: timeout,
      options: `-c search_path=${options.schema}`,
      application_name: "sanyao",
    });
    // An idle client that loses its server must not crash the process: the pool replaces it, and it is reported.
    this.pool.on("error", (err) => reportFailure("postgres-pool", err));
    this.writes = new GroupCommit(
      async (_charges, audits) => this.insertAudits(audits),
      (err) => reportFailure("audit", err),
    );
  }

  static async open(options: PostgresOptions, keyring: Keyring, reportFailure: FailureSink): Promise<PostgresStore> {
    if (!SAFE_SCHEMA.test(options.schema)) throw new Error("SANYAO_DATABASE_SCHEMA is lower-case letters, digits and _.");
    const store = new PostgresStore(options, keyring, reportFailure);
    await store.migrate(options.schema);
    return store;
  }

  private async q<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw classify(err);
    }
  }

  private async tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw classify(err);
    }
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw classify(err);
    } finally {
      client.release();
    }
  }

  /** Applies the migrations above the recorded version; an advisory lock keeps concurrent instances in line. */
  private async migrate(schema: string): Promise<void> {
    await this.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('sanyao-migrations'))");
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await c.query(`SET LOCAL search_path TO ${schema}`);
      await c.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      const rows = (await c.query<{ version: number }>("SELECT max(version) AS version FROM schema_version")).rows;
      const current = rows[0]?.version ?? 0;
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        await c.query(m.postgres);
        await c.query("INSERT INTO schema_version (version) VALUES ($1)", [m.version]);
      }
    });
  }

  async ping(): Promise<void> {
    await this.q("SELECT 1");
  }

  async createAccount(name: string, d: NewAccountDefaults): Promise<Account> {
    const rows = await this.q<AccountRow>(
      `INSERT INTO accounts (account_id, name, created_at, rate_limit, daily_cap, balance) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING *`,
      [newAccountId(), name, new Date().toISOString(), d.rateLimit, d.dailyCap, d.balance],
    );
    return toAccount(rows[0]!);
  }

  async listAccounts(): Promise<Account[]> {
    return (await this.q<AccountRow>("SELECT * FROM accounts ORDER BY created_at, account_id")).map(toAccount);
  }

  async getAccount(accountId: string): Promise<Account | undefined> {
    const [row] = await this.q<AccountRow>("SELECT * FROM accounts WHERE account_id = $1", [accountId]);
    return row && toAccount(row);
  }

  async updateAccount(accountId: string, patch: AccountPatch): Promise<boolean> {
    const entries = patchEntries(patch);
    if (entries.length === 0) return (await this.getAccount(accountId)) !== undefined;
    const sets = entries.map(([column], i) => `${column} = $${i + 1}`).join(", ");
    const values = entries.map(([, v]) => v);
    const rows = await this.q(`UPDATE accounts SET ${sets} WHERE account_id = $${entries.length + 1} RETURNING 1`, [...values, accountId]);
    return rows.length > 0;
  }

  async topUp(accountId: string, amount: number): Promise<number | undefined> {
    const [row] = await this.q<{ balance: string }>("UPDATE accounts SET balance = balance + $1 WHERE account_id = $2 RETURNING balance", [
      amount,
      accountId,
    ]);
    return row ? Number(row.balance) : undefined;
  }

  /** The ledger row and the debit in one transaction; the primary key on RequestId makes a second charge fail. */
  async charge(e: ChargeEntry): Promise<void> {
    await this.tx(async (c) => {
      await c.query(
        "INSERT INTO ledger (request_id, account_id, secret_id, action, mode, unit_price, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [e.requestId, e.accountId, e.secretId, e.action, e.mode, e.unitPrice, e.at],
      );
      await c.query("UPDATE accounts SET balance = balance - $1 WHERE account_id = $2", [e.unitPrice, e.accountId]);
    });
  }

  async usage(q: UsageQuery): Promise<UsageRow[]> {
    const where: string[] = [];
    const params: string[] = [];
    const add = (clause: string, value: string) => {
      params.push(value);
      where.push(clause.replace("?", `$${params.length}`));
    };
    if (q.accountId) add("account_id = ?", q.accountId);
    if (q.from) add(`${CHINA_DAY} >= ?`, q.from);
    if (q.to) add(`${CHINA_DAY} <= ?`, q.to);
    const filter = where.length ? `AND ${where.join(" AND ")}` : "";
    const rows = await this.q<{ account_id: string; day: string; mode: string; calls: string; charged: string; amount: string }>(
      `WITH calls AS (
         SELECT account_id, ${CHINA_DAY} AS day, mode, count(*) AS n FROM audit
         WHERE mode IS NOT NULL AND account_id IS NOT NULL ${filter} GROUP BY 1, 2, 3),
       charges AS (
         SELECT account_id, ${CHINA_DAY} AS day, mode, count(*) AS n, sum(unit_price) AS amount FROM ledger
         WHERE true ${filter} GROUP BY 1, 2, 3)
       SELECT coalesce(c.account_id, l.account_id) AS account_id, coalesce(c.day, l.day) AS day,
              coalesce(c.mode, l.mode) AS mode, coalesce(c.n, 0) AS calls, coalesce(l.n, 0) AS charged,
              coalesce(l.amount, 0) AS amount
       FROM calls c FULL OUTER JOIN charges l USING (account_id, day, mode)
       ORDER BY 1, 2, 3`,
      params,
    );
    return rows.map((r) => ({
      accountId: r.account_id,
      day: r.day,
      mode: r.mode as VerifyModeName,
      calls: Number(r.calls),
      charged: Number(r.charged),
      amount: Number(r.amount),
    }));
  }

  async createKey(accountId: string, given?: { secretId: string; secretKey: string }) {
    if (!(await this.getAccount(accountId))) throw new Error(`No account ${accountId}.`);
    const secretId = given?.secretId ?? newSecretId();
    const secretKey = given?.secretKey ?? newSecretKey();
    if (!isPlausibleSecretId(secretId)) throw new Error("A SecretId is 8 to 128 letters, digits, '-' or '_'.");
    if (secretKey.length < 16) throw new Error("A SecretKey has at least 16 characters.");
    const inserted = await this.q(
      `INSERT INTO api_keys (secret_id, account_id, secret_sealed, enabled, created_at) VALUES ($1, $2, $3, 1, $4)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [secretId, accountId, this.keyring.seal(secretKey, secretId), new Date().toISOString()],
    );
    if (inserted.length === 0) throw new Error("That SecretId exists already.");
    return { secretId, secretKey };
  }

  async listKeys(accountId: string): Promise<ApiKeyInfo[]> {
    const rows = await this.q<{ secret_id: string; account_id: string; enabled: number; created_at: string }>(
      "SELECT secret_id, account_id, enabled, created_at FROM api_keys WHERE account_id = $1 ORDER BY created_at, secret_id",
      [accountId],
    );
    return rows.map((r) => ({ secretId: r.secret_id, accountId: r.account_id, enabled: r.enabled === 1, createdAt: r.created_at }));
  }

  async disableKey(secretId: string): Promise<boolean> {
    return (await this.q("UPDATE api_keys SET enabled = 0 WHERE secret_id = $1 RETURNING 1", [secretId])).length > 0;
  }

  async enableKey(secretId: string): Promise<boolean> {
    return (await this.q("UPDATE api_keys SET enabled = 1 WHERE secret_id = $1 RETURNING 1", [secretId])).length > 0;
  }

  async resolveKey(secretId: string): Promise<Credential | undefined> {
    const [row] = await this.q<{ account_id: string; secret_sealed: Buffer; enabled: number }>(
      "SELECT account_id, secret_sealed, enabled FROM api_keys WHERE secret_id = $1",
      [secretId],
    );
    if (row?.enabled !== 1) return undefined;
    return { secretId, accountId: row.account_id, secretKey: this.keyring.open(row.secret_sealed, secretId) };
  }

  /** One multi-row statement per call; `xmax <> 0` marks the rows that replaced an existing record. */
  async upsertRecords(records: readonly StoredRecord[]): Promise<{ replaced: number }> {
    if (records.length === 0) return { replaced: 0 };
    const values: unknown[] = [];
    const tuples = records.map((r, i) => {
      values.push(r.phoneHash, r.nameHash, r.idCardHash, r.carrier, r.status);
      const b = i * 5;
      return `($${b + 1}::bytea, $${b + 2}::bytea, $${b + 3}::bytea, $${b + 4}::text, $${b + 5}::text)`;
    });
    // Within one statement a phone may appear only once: keep the last row of the batch, as a file import would.
    const rows = await this.q<{ replaced: boolean }>(
      `INSERT INTO records (phone_hash, name_hash, idcard_hash, carrier, status)
       SELECT DISTINCT ON (phone_hash) phone_hash, name_hash, idcard_hash, carrier, status
       FROM (SELECT *, row_number() OVER () AS n FROM (VALUES ${tuples.join(", ")})
         AS v(phone_hash, name_hash, idcard_hash, carrier, status)) AS numbered
       ORDER BY phone_hash, n DESC
       ON CONFLICT (phone_hash) DO UPDATE SET name_hash = excluded.name_hash, idcard_hash = excluded.idcard_hash,
         carrier = excluded.carrier, status = excluded.status
       RETURNING (xmax <> 0) AS replaced`,
      values,
    );
    const inBatchDuplicates = records.length - rows.length;
    return { replaced: rows.filter((r) => r.replaced).length + inBatchDuplicates };
  }

  async countRecords(): Promise<number> {
    return Number((await this.q<{ n: string }>("SELECT count(*) AS n FROM records"))[0]!.n);
  }

  async findRecord(phoneHash: Buffer): Promise<StoredRecord | undefined> {
    const [r] = await this.q<{ phone_hash: Buffer; name_hash: Buffer; idcard_hash: Buffer; carrier: string; status: string }>(
      "SELECT * FROM records WHERE phone_hash = $1",
      [phoneHash],
    );
    return (
      r && {
        phoneHash: r.phone_hash,
        nameHash: r.name_hash,
        idCardHash: r.idcard_hash,
        carrier: r.carrier as Carrier,
        status: r.status as RecordStatus,
      }
    );
  }

  async idCardHeldByOtherName(idCardHash: Buffer, nameHash: Buffer): Promise<boolean> {
    const rows = await this.q("SELECT 1 FROM records WHERE idcard_hash = $1 AND name_hash <> $2 AND status = 'active' LIMIT 1", [
      idCardHash,
      nameHash,
    ]);
    return rows.length > 0;
  }

  /** Queued and written in batches (multi-row INSERT) within 20 ms; flushed on close. */
  async appendAudit(e: AuditEntry): Promise<void> {
    this.writes.queue(e);
  }

  /** One multi-row insert; if it fails, row by row, so one bad entry does not take the others with it. */
  private async insertAudits(audits: readonly AuditEntry[]): Promise<CommitResult> {
    const done: CommitResult = { failedCharges: [], failedQueued: 0 };
    if (audits.length === 0) return done;
    try {
      await this.insertAuditRows(audits);
      return done;
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      let failedQueued = 0;
      for (const e of audits) await this.insertAuditRows([e]).catch(() => failedQueued++);
      return { ...done, failedQueued, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private async insertAuditRows(audits: readonly AuditEntry[]): Promise<void> {
    const values: unknown[] = [];
    const tuples = audits.map((e, i) => {
      values.push(...auditValues(e));
      const b = i * 9;
      return `(${Array.from({ length: 9 }, (_, k) => `$${b + k + 1}`).join(", ")})`;
    });
    await this.q(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES ${tuples.join(", ")}`, values);
  }

  async createKmsKey(k: KmsKey): Promise<boolean> {
    const rows = await this.q(
      `INSERT INTO kms_keys (key_id, account_id, region, alias, description, key_usage, state, created_at, material_sealed)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING 1`,
      [
        k.keyId,
        k.accountId,
        k.region,
        k.alias,
        k.description,
        k.keyUsage,
        k.state,
        k.createdAt,
        this.keyring.seal(k.material.toString("base64"), `kms:${k.keyId}`),
      ],
    );
    return rows.length > 0;
  }

  async getKmsKey(accountId: string, keyId: string, region?: string): Promise<KmsKey | undefined> {
    const [r] = await this.q<{
      key_id: string;
      account_id: string;
      region: string;
      alias: string;
      description: string;
      key_usage: string;
      state: string;
      created_at: string;
      material_sealed: Buffer;
    }>("SELECT * FROM kms_keys WHERE key_id = $1 AND account_id = $2", [keyId, accountId]);
    if (!r || (region !== undefined && r.region !== region)) return undefined;
    return {
      keyId: r.key_id,
      accountId: r.account_id,
      region: r.region,
      alias: r.alias,
      description: r.description,
      keyUsage: r.key_usage,
      state: r.state as KmsKeyState,
      createdAt: Number(r.created_at),
      material: Buffer.from(this.keyring.open(r.material_sealed, `kms:${r.key_id}`), "base64"),
    };
  }

  async listKmsKeys(accountId: string, region: string, offset: number, limit: number) {
    const rows = await this.q<{ key_id: string; total: string }>(
      `SELECT key_id, count(*) OVER () AS total FROM kms_keys WHERE account_id = $1 AND region = $2
       ORDER BY created_at, seq LIMIT $3 OFFSET $4`,
      [accountId, region, limit, offset],
    );
    const total =
      rows.length > 0
        ? Number(rows[0]!.total)
        : Number(
            (
              await this.q<{ n: string }>("SELECT count(*) AS n FROM kms_keys WHERE account_id = $1 AND region = $2", [accountId, region])
            )[0]!.n,
          );
    return { keyIds: rows.map((r) => r.key_id), total };
  }

  async countKmsKeys(accountId: string): Promise<number> {
    return Number((await this.q<{ n: string }>("SELECT count(*) AS n FROM kms_keys WHERE account_id = $1", [accountId]))[0]!.n);
  }

  async setKmsKeyState(accountId: string, keyId: string, state: KmsKeyState): Promise<void> {
    await this.q("UPDATE kms_keys SET state = $1 WHERE account_id = $2 AND key_id = $3", [state, accountId, keyId]);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.q<{ value: string }>("SELECT value FROM meta WHERE key = $1", [key]))[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.q("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]);
  }

  private closed = false;
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writes.flush().catch((err) => this.reportFailure("audit", err));
    await this.pool.end();
  }
}

/** Connection-level failures are the dependency being away; anything else is ours to report. */
function classify(err: unknown): unknown {
  if (err instanceof UnavailableError) return err;
  const code = (err as { code?: string }).code ?? "";
  const message = err instanceof Error ? err.message : "";
  const connectionLevel =
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "EPIPE",
      "ENOTFOUND",
      "57P01",
      "57P02",
      "57P03",
      "08000",
      "08003",
      "08006",
      "57014",
    ].includes(code) || /timeout|terminat|Connection|connect/i.test(message);
  return connectionLevel ? new UnavailableError("postgres", err) : err;
}
