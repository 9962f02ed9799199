/**
 * The scale-out store: PostgreSQL through a `pg` pool, shared by any number of instances. Every query is bounded
 * in time, and a connection failure becomes UnavailableError so requests fail fast and the pool recovers alone.
 * A charge whose COMMIT went out unacknowledged is settled before its answer (see charge()).
 */
import { Pool, type PoolClient, type QueryConfig, type QueryResultRow } from "pg";
import type { FailureSink } from "../../common/failures";
import { UnavailableError } from "../../common/unavailable";
import { type AuditEntry, type ChargeEntry, type UsageQuery, verifyModeOf } from "../model";
import type { AuditRows, LedgerRows, StoreAdapter, UsageCount } from "../ports";
import { GroupCommit, type CommitResult } from "../group-commit";
import { MIGRATIONS } from "../migrations";
import type { PaidAnswerSink } from "../paid-answers";
import {
  AUDIT_COLUMN_COUNT,
  chinaDayStartMs,
  AUDIT_COLUMNS,
  auditValues,
  ledgerFilter,
  type LedgerTableRow,
  toLedgerEntry,
  toUnknownEntry,
  type UnknownTableRow,
} from "../rows";
import { overviewRows, sessionRows } from "./console-rows";
import { accountRows, apiKeyRows, kmsKeyRows, metaRows, recordRows, scenarioRows } from "./tables";
import type { PackedRecords } from "../packed-records";
import { oneAtATime } from "../one-at-a-time";
import { pollAdvisoryLock } from "./advisory-lock";
import { loadRecords } from "./record-load";
import { warmRecords } from "./records-warm";

export interface PostgresOptions {
  url: string;
  /** the schema holding sanyao's tables (created when missing) */
  schema: string;
  /** per-statement and connection budget, milliseconds */
  timeoutMs?: number;
  poolSize?: number;
}

/** A COMMIT was sent and its acknowledgement never came (the connection failed, or the reply was late). */
class CommitOutcomeUnknown extends Error {
  constructor(
    /** the server process of the session that sent it */
    readonly backendPid: number | undefined,
    readonly failure: unknown,
  ) {
    super(`the outcome of a COMMIT was not seen: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

const CHINA_DAY = "to_char(to_timestamp((at + 28800000) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
const SAFE_SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresStore implements StoreAdapter {
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private readonly writes: GroupCommit<never, AuditEntry>;
  private readonly query = <R extends QueryResultRow>(sql: string, params: unknown[] = []) => this.q<R>(sql, params);
  readonly accounts = accountRows(this.query);
  readonly apiKeys = apiKeyRows(this.query);
  private readonly loads = oneAtATime();
  private readonly closing = new AbortController();
  readonly records = {
    ...recordRows(this.query),
    // one load at a time per store, as on SQLite: two merges would wait on each other's lock and hold two connections
    load: (batches: AsyncIterable<PackedRecords>, signal?: AbortSignal) =>
      this.loads(() => loadRecords(() => this.pool.connect(), batches, signal), signal),
    // stopped by the store's close too, not only by the caller's signal
    warm: (signal: AbortSignal) => warmRecords(this.query, AbortSignal.any([signal, this.closing.signal])),
  };
  readonly kmsKeys = kmsKeyRows(this.query);
  readonly meta = metaRows(this.query);
  readonly scenarios = scenarioRows(this.query);
  readonly sessions = sessionRows(this.query);
  readonly overview = overviewRows(
    this.query,
    () => this.writes.flush(),
    (work) =>
      this.tx(async (client) => {
        await work(async <R extends QueryResultRow>(sql: string, params: unknown[] = []) => (await client.query<R>(sql, params)).rows);
      }),
  );
  readonly ledger: LedgerRows = {
    charge: (entry) => this.charge(entry),
    // Calls are counted from the audit trail, whose rows are queued: settle them first.
    usage: async (query) => {
      await this.writes.flush().catch(() => undefined);
      return this.usage(query);
    },
    has: async (requestId) => (await this.q("SELECT 1 FROM ledger WHERE request_id = $1", [requestId])).length > 0,
    chargeOf: async (requestId) => {
      const [row] = await this.q<{ unit_price: string }>("SELECT unit_price FROM ledger WHERE request_id = $1", [requestId]);
      return row === undefined ? undefined : Number(row.unit_price);
    },
    spent: async (accountId, sinceMs) => {
      const [row] = await this.q<{ n: string }>(
        "SELECT coalesce(sum(unit_price), 0) AS n FROM ledger WHERE account_id = $1 AND at >= $2 AND test = 0",
        [accountId, sinceMs],
      );
      return Number(row?.n ?? 0);
    },
    markUnknown: async (e) => {
      await this.q(
        `INSERT INTO upstream_unknown (request_id, account_id, secret_id, action, at, reason) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (request_id) DO NOTHING`,
        [e.requestId, e.accountId, e.secretId, e.action, e.at, e.reason],
      );
    },
    unknowns: async (query) =>
      (
        await this.q<UnknownTableRow>(
          `SELECT * FROM upstream_unknown WHERE ($1::text IS NULL OR account_id = $1) ORDER BY at, request_id`,
          [query.accountId ?? null],
        )
      ).map(toUnknownEntry),
    unknownPage: async ({ accountId, offset, limit }) => {
      const matching = "$1::text IS NULL OR account_id = $1";
      const rows = await this.q<UnknownTableRow>(
        `SELECT * FROM upstream_unknown WHERE ${matching} ORDER BY at DESC, request_id DESC LIMIT $2 OFFSET $3`,
        [accountId ?? null, limit, offset],
      );
      const [total] = await this.q<{ n: string }>(`SELECT count(*) AS n FROM upstream_unknown WHERE ${matching}`, [accountId ?? null]);
      return { rows: rows.map(toUnknownEntry), total: Number(total?.n ?? 0) };
    },
    teamSpend: async (sinceMs) =>
      (
        await this.q<{ account_id: string; name: string; monthly_budget: string; spent: string }>(
          `SELECT a.account_id, a.name, a.monthly_budget, coalesce(sum(l.unit_price), 0) AS spent
           FROM accounts a LEFT JOIN ledger l ON l.account_id = a.account_id AND l.at >= $1 AND l.test = 0
           GROUP BY a.account_id HAVING a.monthly_budget > 0 OR count(l.request_id) > 0 ORDER BY a.created_at, a.account_id`,
          [sinceMs],
        )
      ).map((r) => ({ accountId: r.account_id, name: r.name, monthlyBudget: Number(r.monthly_budget), spent: Number(r.spent) })),
    entries: async (query) => {
      const { where, params } = ledgerFilter(query, (n) => `$${n}`);
      const n = params.length;
      return (
        await this.q<LedgerTableRow>(
          `SELECT * FROM ledger WHERE ${where} ORDER BY at DESC, request_id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
          [...params, query.limit, query.offset ?? 0],
        )
      ).map(toLedgerEntry);
    },
    entryCount: async (query) => {
      const { where, params } = ledgerFilter(query, (n) => `$${n}`);
      const [row] = await this.q<{ n: string }>(`SELECT count(*) AS n FROM ledger WHERE ${where}`, params);
      return Number(row?.n ?? 0);
    },
  };
  /** queued and written in batches (multi-row INSERT) within 20 ms; flushed on close */
  readonly audit: AuditRows = {
    append: (entry) => this.writes.queue(entry),
    cacheCounts: async (sinceMs) => {
      await this.writes.flush().catch(() => undefined);
      const [row] = await this.q<{ hits: string | null; misses: string | null }>(
        `SELECT sum(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END) AS hits, sum(CASE WHEN cache = 'miss' THEN 1 ELSE 0 END) AS misses
         FROM audit WHERE cache IS NOT NULL AND at >= $1`,
        [sinceMs],
      );
      return { hits: Number(row?.hits ?? 0), misses: Number(row?.misses ?? 0) };
    },
  };

  private constructor(
    options: PostgresOptions,
    private readonly reportFailure: FailureSink,
    /** where a charge answered as charged goes when PostgreSQL cannot settle it in time (the journal of paid answers) */
    private readonly paid: PaidAnswerSink,
  ) {
    const timeout = options.timeoutMs ?? 3000;
    this.timeoutMs = timeout;
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

  static async open(options: PostgresOptions, reportFailure: FailureSink, paid: PaidAnswerSink): Promise<PostgresStore> {
    if (!SAFE_SCHEMA.test(options.schema)) throw new Error("SANYAO_DATABASE_SCHEMA is lower-case letters, digits and _.");
    const store = new PostgresStore(options, reportFailure, paid);
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

  /**
   * BEGIN, the work, COMMIT on one pooled connection. A failure before the COMMIT rolls back (PostgreSQL does it when
   * the connection is closed); a failure of the COMMIT itself is CommitOutcomeUnknown: it may have been applied.
   */
  private async tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw classify(err);
    }
    // While checked out, a client has no listener of the pool's: a connection lost mid-transaction would be an
    // unhandled 'error' event, and the process would die. The statement in flight fails with it; that is enough.
    client.on("error", ignoreError);
    let committing = false;
    /** the connection failed or may still be inside a statement: closed, never handed out again */
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await work(client);
      committing = true;
      await client.query("COMMIT");
      return result;
    } catch (err) {
      if (committing) {
        broken = true;
        throw new CommitOutcomeUnknown("processID" in client && typeof client.processID === "number" ? client.processID : undefined, err);
      }
      const classified = classify(err);
      if (classified instanceof UnavailableError) broken = true;
      else await client.query("ROLLBACK").catch(() => (broken = true));
      throw classified;
    } finally {
      client.removeListener("error", ignoreError);
      client.release(broken);
    }
  }

  /** true when this store's opening made the tables (the schema had none): a new installation */
  created = false;

  /** Applies the migrations above the recorded version; an advisory lock keeps concurrent instances in line. */
  private async migrate(schema: string): Promise<void> {
    await this.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('sanyao-migrations'))");
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await c.query(`SET LOCAL search_path TO ${schema}`);
      await c.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      const rows = (await c.query<{ version: number }>("SELECT max(version) AS version FROM schema_version")).rows;
      const current = rows[0]?.version ?? 0;
      this.created = current === 0;
      // A migration may build an index or a rollup over every row of a big installation: the statement budget of
      // requests does not apply to it.
      await c.query("SET LOCAL statement_timeout = 0");
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        // pg reads query_timeout from a query's config too, though its types do not say so
        const migration: QueryConfig & { query_timeout: number } = { text: m.postgres, query_timeout: MIGRATION_TIMEOUT_MS };
        await c.query(migration);
        await c.query("INSERT INTO schema_version (version) VALUES ($1)", [m.version]);
      }
    });
  }

  /**
   * A session-level advisory lock on a connection of its own, named within this schema (installations sharing a
   * database do not wait on each other), tried every 100 ms (advisory-lock.ts).
   */
  async exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw classify(err);
    }
    client.on("error", ignoreError);
    let broken = false;
    try {
      const key = await this.advisoryLock(client, name).catch((err: unknown) => {
        broken = true;
        throw classify(err);
      });
      try {
        return await work();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [key]).catch(() => (broken = true));
      }
    } finally {
      client.removeListener("error", ignoreError);
      client.release(broken);
    }
  }

  /** Takes the lock on `client`; its key. */
  private async advisoryLock(client: PoolClient, name: string): Promise<number> {
    const [row] = (await client.query<{ k: number }>("SELECT hashtext(current_schema() || ':' || $1::text) AS k", [name])).rows;
    const key = row?.k ?? 0;
    const tryLock = async () => (await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [key])).rows[0]?.ok === true;
    await pollAdvisoryLock(tryLock, {
      everyMs: 100,
      deadline: { at: Date.now() + LOCK_WAIT_MS, message: `another instance has held the lock "${name}" for ${LOCK_WAIT_MS / 1000} s` },
    });
    return key;
  }

  async ping(): Promise<void> {
    await this.q("SELECT 1");
  }

  /**
   * The ledger row and the debit, committed before the answer. When the COMMIT went out and its acknowledgement did
   * not come back, the charge may stand: it is settled on another connection, by RequestId, before answering. If
   * PostgreSQL cannot be asked within the time budget, the answer goes out as charged and the charge goes to the
   * journal of paid answers, written once PostgreSQL answers (even after a restart): never answered uncharged while a
   * debit may stand.
   */
  private async charge(e: ChargeEntry): Promise<void> {
    try {
      await this.writeCharge(e);
    } catch (err) {
      if (!(err instanceof CommitOutcomeUnknown)) throw err;
      const settling = this.settle(e, err.backendPid);
      const settled = await Promise.race([settling.then(() => true), sleep(this.timeoutMs).then(() => false)]).catch(() => false);
      if (!settled) this.paid.add({ kind: "charge", entry: e }, err);
    }
  }

  /**
   * Settles a charge whose COMMIT was not acknowledged. The session that sent it is ended first (it may hold the
   * COMMIT unsent, or be applying it); then the charge is written again: the ledger takes a RequestId once, so this
   * either meets the first commit (no second debit) or makes the only one. The INSERT waits for the old session's
   * transaction to end either way, so what it finds is final.
   */
  private async settle(e: ChargeEntry, backendPid: number | undefined): Promise<void> {
    if (backendPid !== undefined) {
      await this.q("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1", [backendPid]).catch(() => undefined);
    }
    await this.writeCharge(e);
  }

  /** The ledger row and the debit in one transaction; a RequestId already in the ledger is not debited again. */
  private async writeCharge(e: ChargeEntry): Promise<void> {
    await this.tx(async (c) => {
      const inserted = await c.query(
        `INSERT INTO ledger (request_id, account_id, secret_id, action, mode, unit_price, at, test, upstream_request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (request_id) DO NOTHING`,
        [e.requestId, e.accountId, e.secretId, e.action, e.mode, e.unitPrice, e.at, Number(e.test === true), e.upstreamRequestId ?? null],
      );
      // A test key's charge is in the test ledger only: the balance is the account's real money.
      if (inserted.rowCount === 0 || e.test) return;
      await c.query("UPDATE accounts SET balance = balance - $1 WHERE account_id = $2", [e.unitPrice, e.accountId]);
    });
  }

  private async usage(query: UsageQuery): Promise<{ calls: UsageCount[]; charged: UsageCount[]; refused: UsageCount[] }> {
    const where: string[] = [];
    const params: string[] = [];
    const add = (clause: string, value: string) => {
      params.push(value);
      where.push(clause.replace("?", `$${params.length}`));
    };
    if (query.accountId) add("account_id = ?", query.accountId);
    if (query.from) add(`${CHINA_DAY} >= ?`, query.from);
    if (query.to) add(`${CHINA_DAY} <= ?`, query.to);
    // the same days as a range of times, which an index on time can seek (the day's expression cannot)
    if (query.from) add("at >= ?::bigint", String(chinaDayStartMs(query.from)));
    if (query.to) add("at < ?::bigint", String(chinaDayStartMs(query.to) + 86_400_000));
    add("test = ?", String(Number(query.test === true)));
    const filter = where.length ? `AND ${where.join(" AND ")}` : "";
    const counts = async (sql: string) =>
      (
        await this.q<{ account_id: string; day: string; action: string; mode: string; n: string; amount: string; cached: string }>(
          sql,
          params,
        )
      ).map((r) => ({
        accountId: r.account_id,
        day: r.day,
        action: r.action,
        mode: verifyModeOf(r.mode),
        n: Number(r.n),
        amount: Number(r.amount),
        cached: Number(r.cached),
      }));
    const [calls, charged, refused] = await Promise.all([
      counts(
        `SELECT account_id, ${CHINA_DAY} AS day, action, variant AS mode, count(*) AS n, 0 AS amount,
           sum(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END) AS cached FROM audit
         WHERE variant IS NOT NULL AND account_id IS NOT NULL ${filter} GROUP BY 1, 2, 3, 4`,
      ),
      counts(
        `SELECT account_id, ${CHINA_DAY} AS day, action, mode, count(*) AS n, sum(unit_price) AS amount, 0 AS cached FROM ledger
         WHERE true ${filter} GROUP BY 1, 2, 3, 4`,
      ),
      counts(
        `SELECT account_id, ${CHINA_DAY} AS day, action, 'simple' AS mode, count(*) AS n, 0 AS amount, 0 AS cached FROM audit
         WHERE code IN ('RequestLimitExceeded', 'UnauthorizedOperation.Arrears') AND account_id IS NOT NULL AND action IS NOT NULL
         ${filter} GROUP BY 1, 2, 3, 4`,
      ),
    ]);
    return { calls, charged, refused };
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
      const b = i * AUDIT_COLUMN_COUNT;
      return `(${Array.from({ length: AUDIT_COLUMN_COUNT }, (_, k) => `$${b + k + 1}`).join(", ")})`;
    });
    await this.q(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES ${tuples.join(", ")}`, values);
  }

  private closed = false;
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await this.writes.flush().catch((err) => this.reportFailure("audit", err));
    await this.pool.end();
  }
}

function ignoreError(): void {}

/** how long one migration may take (the client's own timer; PostgreSQL's is lifted for the migrations) */
const MIGRATION_TIMEOUT_MS = 6 * 3_600_000;

/** how long `exclusive` waits for a lock another instance holds */
const LOCK_WAIT_MS = 600_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

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
