/**
 * The embedded store: one SQLite file under the data directory (better-sqlite3 12).
 * WAL lets the CLI write (new keys, imports) while a server reads, so changes are seen on the next request.
 */
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import type { FailureSink } from "../../common/failures";
import type { DailyCountLog } from "../../limits/contract";
import { dailyFold } from "./daily-log";
import { type AuditEntry, type ChargeEntry, type UsageQuery, verifyModeOf } from "../model";
import type { AuditRows, LedgerRows, StoreAdapter, UsageCount } from "../ports";
import { GroupCommit } from "../group-commit";
import { MIGRATIONS } from "../migrations";
import { chinaDayStartMs, ledgerFilter, type LedgerTableRow, toLedgerEntry, toUnknownEntry, type UnknownTableRow } from "../rows";
import { openRecordsFile, openRecordsReader, RECORDS_FILE } from "./records-file";
import { RecordsFileWarmer } from "./records-warm";
import { recordsCache, recordsCacheWalker } from "./records-cache";
import { TurnSnapshot } from "./turn-snapshot";
import { overviewRows, sessionRows } from "./console-rows";
import { accountRows, apiKeyRows, kmsKeyRows, metaRows, recordRows, scenarioRows } from "./tables";
import type { DailyAttempt } from "./writer";
import { WriterThread } from "./writer-thread";

export const DATABASE_FILE = "sanyao.db";

/** Pauses before the writer thread is started again: doubling from `first` while it stops within `stable` ms. */
const RESTART_DELAY_MS = { first: 500, max: 10_000, stable: 30_000 };

/**
 * Durability of a commit. "normal" (WAL, synchronous=NORMAL): a committed ledger row survives a crash of the
 * process; a power loss may take the last commits before the next checkpoint. "full": every commit is fsynced
 * before the answer goes out (group commit spreads the cost over concurrent requests).
 */
export type SqliteSync = "normal" | "full";

interface UsagePart {
  account_id: string;
  day: string;
  action: string;
  mode: string;
  n: number;
  amount: number;
  cached: number;
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

/** What the request path's records connection may hold in memory (records-cache.ts). */
export interface RecordsMemory {
  /** processes serving on this installation (`serve --workers`): they share the memory for caching records */
  servingProcesses?: number;
  /** how much of records.db to map (SQLite maps 2 GiB at most, its default here) */
  mapBytes?: number;
  /** the most to cache of it (records-cache.ts; unset: a share of the memory available, 0: the least, and no walk) */
  cacheBytes?: number;
}

export class SqliteStore implements StoreAdapter, DailyCountLog {
  readonly db: Database.Database;
  private readonly recordsDb: Database.Database;
  private readonly recordsReader: Database.Database;
  /** holds a descriptor of records.db until the connections have closed (records-warm.ts) */
  private readonly recordsWarmer: RecordsFileWarmer;
  readonly accounts;
  readonly apiKeys;
  readonly records;
  readonly kmsKeys;
  readonly meta;
  readonly scenarios;
  readonly sessions;
  readonly overview;
  readonly ledger: LedgerRows;
  readonly audit: AuditRows;
  private readonly stmt;
  private readonly writes: GroupCommit<ChargeEntry, AuditEntry | DailyAttempt>;

  constructor(
    dataDir: string,
    private readonly reportFailure: FailureSink,
    private readonly sync: SqliteSync = "normal",
    records: RecordsMemory = {},
  ) {
    fs.mkdirSync(dataDir, { recursive: true });
    const db = new Database(path.join(dataDir, DATABASE_FILE));
    this.db = db;
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    migrate(db);
    // Attempts an earlier version left in its log count before any day is loaded.
    dailyFold(db)();
    this.recordsDb = openRecordsFile(dataDir, db);
    this.accounts = accountRows(db);
    this.apiKeys = apiKeyRows(db);
    const recordsFile = path.join(dataDir, RECORDS_FILE);
    const cache = recordsCache(records.servingProcesses ?? 1, records.cacheBytes);
    this.recordsReader = openRecordsReader(recordsFile, cache.bytes, records.mapBytes);
    const snapshot = new TurnSnapshot(this.recordsReader);
    this.recordsWarmer = new RecordsFileWarmer(recordsFile);
    const warmer = this.recordsWarmer;
    this.records = {
      ...recordRows(this.recordsDb, this.recordsReader, snapshot),
      warm: (signal: AbortSignal) => warmer.warm(signal),
      fillCache: recordsCacheWalker(this.recordsReader, snapshot, cache),
    };
    this.kmsKeys = kmsKeyRows(db);
    this.meta = metaRows(db);
    this.scenarios = scenarioRows(db);
    this.sessions = sessionRows(db);
    this.stmt = {
      loadDay: db.prepare<[string, number], { key: string; n: number }>("SELECT key, n FROM daily_counts WHERE day = ? LIMIT ?"),
      dailyCount: db.prepare<[string, string], number>("SELECT n FROM daily_counts WHERE day = ? AND key = ?").pluck(),
      forgetDays: db.prepare("DELETE FROM daily_counts WHERE day < ?"),
      ledgerHas: db.prepare<[string], number>("SELECT 1 FROM ledger WHERE request_id = ?").pluck(),
      chargeOf: db.prepare<[string], number>("SELECT unit_price FROM ledger WHERE request_id = ?").pluck(),
    };
    this.overview = overviewRows(db, () => this.writes.flush());
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
    const insertUnknown = db.prepare(
      "INSERT INTO upstream_unknown (request_id, account_id, secret_id, action, at, reason) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    );
    const listUnknown = db.prepare<[string | null, string | null], UnknownTableRow>(
      "SELECT * FROM upstream_unknown WHERE (? IS NULL OR account_id = ?) ORDER BY at, request_id",
    );
    const unknownPage = db.prepare<[string | null, string | null, number, number], UnknownTableRow>(
      "SELECT * FROM upstream_unknown WHERE (? IS NULL OR account_id = ?) ORDER BY at DESC, request_id DESC LIMIT ? OFFSET ?",
    );
    const unknownCount = db
      .prepare<[string | null, string | null], number>("SELECT count(*) FROM upstream_unknown WHERE (? IS NULL OR account_id = ?)")
      .pluck();
    const teamSpend = db.prepare<[number], { account_id: string; name: string; monthly_budget: number; spent: number }>(
      `SELECT a.account_id, a.name, a.monthly_budget, coalesce(sum(l.unit_price), 0) AS spent
       FROM accounts a LEFT JOIN ledger l ON l.account_id = a.account_id AND l.at >= ? AND l.test = 0
       GROUP BY a.account_id HAVING a.monthly_budget > 0 OR count(l.request_id) > 0 ORDER BY a.created_at, a.account_id`,
    );
    const cacheCounts = db.prepare<[number], { hits: number | null; misses: number | null }>(
      `SELECT sum(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END) AS hits, sum(CASE WHEN cache = 'miss' THEN 1 ELSE 0 END) AS misses
       FROM audit WHERE cache IS NOT NULL AND at >= ?`,
    );
    const spent = db
      .prepare<[string, number], number>("SELECT coalesce(sum(unit_price), 0) FROM ledger WHERE account_id = ? AND at >= ? AND test = 0")
      .pluck();
    this.ledger = {
      // Charges still queued for the writer thread are not in it yet: settle them first.
      spent: async (accountId, sinceMs) => {
        await this.writes.flush();
        return spent.get(accountId, sinceMs) ?? 0;
      },
      charge: (entry) => this.charge(entry),
      // Charges still queued for the writer thread are not in it yet: settle them first.
      has: async (requestId) => {
        await this.writes.flush().catch(() => undefined);
        return this.stmt.ledgerHas.get(requestId) !== undefined;
      },
      // Calls are counted from the audit trail, whose rows are queued: settle them first.
      usage: async (query) => {
        await this.writes.flush().catch(() => undefined);
        return this.usage(query);
      },
      chargeOf: async (requestId) => {
        await this.writes.flush().catch(() => undefined);
        return this.stmt.chargeOf.get(requestId);
      },
      markUnknown: async (e) => {
        insertUnknown.run(e.requestId, e.accountId, e.secretId, e.action, e.at, e.reason);
      },
      unknowns: async (query) => listUnknown.all(query.accountId ?? null, query.accountId ?? null).map(toUnknownEntry),
      unknownPage: async ({ accountId, offset, limit }) => ({
        rows: unknownPage.all(accountId ?? null, accountId ?? null, limit, offset).map(toUnknownEntry),
        total: unknownCount.get(accountId ?? null, accountId ?? null) ?? 0,
      }),
      teamSpend: async (sinceMs) => {
        await this.writes.flush().catch(() => undefined);
        return teamSpend
          .all(sinceMs)
          .map((r) => ({ accountId: r.account_id, name: r.name, monthlyBudget: r.monthly_budget, spent: r.spent }));
      },
      entries: async (query) => {
        const { where, params } = ledgerFilter(query, () => "?");
        return this.db
          .prepare<unknown[], LedgerTableRow>(`SELECT * FROM ledger WHERE ${where} ORDER BY at DESC, request_id DESC LIMIT ? OFFSET ?`)
          .all(...params, query.limit, query.offset ?? 0)
          .map(toLedgerEntry);
      },
      entryCount: async (query) => {
        const { where, params } = ledgerFilter(query, () => "?");
        return (
          this.db
            .prepare<unknown[], number>(`SELECT count(*) FROM ledger WHERE ${where}`)
            .pluck()
            .get(...params) ?? 0
        );
      },
    };
    this.audit = {
      // Queued: committed with the next charge, or within 20 ms.
      append: (entry) => this.writes.queue(entry),
      cacheCounts: async (sinceMs) => {
        await this.writes.flush().catch(() => undefined);
        const row = cacheCounts.get(sinceMs);
        return { hits: row?.hits ?? 0, misses: row?.misses ?? 0 };
      },
    };
  }

  private writerThread: WriterThread | undefined;
  private restartAt = 0;
  private restartDelayMs = RESTART_DELAY_MS.first;

  /**
   * The writer thread, started on first use. One that stopped is started again after a pause that doubles while
   * it keeps stopping; until then commits fail at once (their requests answer uncharged) and ping() says why.
   */
  private writer(): WriterThread {
    // A write that arrives after close (a request past the shutdown's drain limit) fails like a stopped thread's.
    if (!this.db.open) throw new Error("the store is closed");
    const current = this.writerThread;
    if (current?.running) return current;
    if (current && Date.now() < this.restartAt) return current;
    return this.startWriter();
  }

  private startWriter(): WriterThread {
    // While the writer thread runs, its checkpointer copies the WAL back (writer.ts); a checkpoint on this
    // connection would run on the event loop, for every request to wait on.
    this.db.pragma("wal_autocheckpoint = 0");
    const thread = new WriterThread({ file: this.db.name, sync: this.sync, checkpointAlso: [this.recordsDb.name] }, (err) => {
      this.reportFailure("writer-thread", err);
      if (this.db.open) this.db.pragma("wal_autocheckpoint = 1000"); // SQLite's default, until it starts again
      // A thread that ran for a while starts the pauses over; one that keeps stopping waits twice as long each time.
      const delay = Date.now() - startedAt > RESTART_DELAY_MS.stable ? RESTART_DELAY_MS.first : this.restartDelayMs;
      this.restartDelayMs = Math.min(delay * 2, RESTART_DELAY_MS.max);
      this.restartAt = Date.now() + delay;
      // Started here, not through writer(): a timer may fire a millisecond before Date.now() reaches restartAt
      // (libuv counts from the loop's cached time), and then nothing would start it until the next commit.
      setTimeout(() => {
        if (this.db.open && !this.writerThread?.running) this.startWriter();
      }, delay).unref();
    });
    const startedAt = Date.now();
    this.writerThread = thread;
    return thread;
  }

  /** The running writer thread's handle (for operators' tooling and tests that stop it as a crash would). */
  get writerThreadHandle(): WriterThread | undefined {
    return this.writerThread;
  }

  /**
   * Settles once the ledger row and the debit are committed (group commit: one transaction per turn). A commit
   * whose acknowledgement was lost (the writer thread died) is settled by the ledger itself: the row is there or not.
   */
  private charge(e: ChargeEntry): Promise<void> {
    return this.writes.charge(e).catch((err: unknown) => {
      if (this.stmt.ledgerHas.get(e.requestId) === undefined) throw err;
    });
  }

  private usage(q: UsageQuery): { calls: UsageCount[]; charged: UsageCount[]; refused: UsageCount[] } {
    const where: string[] = [];
    const params: Array<string | number> = [];
    const when = (condition: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(condition);
      params.push(value);
    };
    when("account_id = ?", q.accountId);
    when(`${CHINA_DAY} >= ?`, q.from);
    when(`${CHINA_DAY} <= ?`, q.to);
    // the same days as a range of times, which an index on time can seek (the day's expression cannot)
    when("at >= ?", q.from === undefined ? undefined : chinaDayStartMs(q.from));
    when("at < ?", q.to === undefined ? undefined : chinaDayStartMs(q.to) + 86_400_000);
    when("test = ?", String(Number(q.test === true)));
    const filter = where.length ? `AND ${where.join(" AND ")}` : "";
    const counts = (sql: string) =>
      this.db
        .prepare<Array<string | number>, UsagePart>(sql)
        .all(...params)
        .map((p) => ({
          accountId: p.account_id,
          day: p.day,
          action: p.action,
          mode: verifyModeOf(p.mode),
          n: p.n,
          amount: p.amount,
          cached: p.cached,
        }));
    return {
      calls: counts(
        `SELECT account_id, ${CHINA_DAY} AS day, action, variant AS mode, count(*) AS n, 0 AS amount,
           sum(CASE WHEN cache = 'hit' THEN 1 ELSE 0 END) AS cached FROM audit
         WHERE variant IS NOT NULL AND account_id IS NOT NULL ${filter} GROUP BY 1, 2, 3, 4`,
      ),
      charged: counts(
        `SELECT account_id, ${CHINA_DAY} AS day, action, mode, count(*) AS n, sum(unit_price) AS amount, 0 AS cached FROM ledger
         WHERE 1 = 1 ${filter} GROUP BY 1, 2, 3, 4`,
      ),
      refused: counts(
        `SELECT account_id, ${CHINA_DAY} AS day, action, 'simple' AS mode, count(*) AS n, 0 AS amount, 0 AS cached FROM audit
         WHERE code IN ('RequestLimitExceeded', 'UnauthorizedOperation.Arrears') AND account_id IS NOT NULL AND action IS NOT NULL
         ${filter} GROUP BY 1, 2, 3, 4`,
      ),
    };
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

  /** Commits what is queued, so that countOf() sees every attempt recorded so far. */
  async settled(): Promise<void> {
    await this.writes.flush();
  }

  forgetBefore(day: string): void {
    this.stmt.forgetDays.run(day);
  }

  private readonly locks = new Map<string, Promise<unknown>>();

  /**
   * One at a time within this process: an embedded installation is served by one process (`--workers`: the primary
   * does the work that needs the lock), so no lock between processes is kept.
   */
  async exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    const before = this.locks.get(name) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(work);
    this.locks.set(name, mine);
    try {
      return await mine;
    } finally {
      if (this.locks.get(name) === mine) this.locks.delete(name);
    }
  }

  async ping(): Promise<void> {
    this.db.prepare("SELECT 1").get();
    this.recordsDb.prepare("SELECT 1").get();
    this.recordsReader.prepare("SELECT 1").get();
    if (this.writerThread && !this.writerThread.running) {
      throw new Error("the writer thread is down: charged calls answer FailedOperation.UnKnown until it restarts");
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writes.flush();
    await this.writerThread?.close();
    this.db.close();
    this.recordsReader.close();
    this.recordsDb.close();
    await this.recordsWarmer.close();
  }
}
