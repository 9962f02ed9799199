/** The embedded store's console rows: sign-in sessions, and the overview's counts (the hourly rollup, covering indexes). */
import type Database from "better-sqlite3";
import { LATENCY_CLASS, ROLLUP_READS, type SessionTableRow, toSessionRow } from "../console-rows";
import type { OverviewCalls, OverviewCharges, OverviewLatencies, OverviewRange, OverviewRows, SessionRows } from "../ports";

export function sessionRows(db: Database.Database): SessionRows {
  const insert = db.prepare("INSERT INTO console_sessions (digest, role, created_at, last_seen_at) VALUES (?, ?, ?, ?)");
  const get = db.prepare<[Buffer], SessionTableRow>("SELECT * FROM console_sessions WHERE digest = ?");
  const touch = db.prepare("UPDATE console_sessions SET last_seen_at = max(last_seen_at, ?) WHERE digest = ?");
  const remove = db.prepare("DELETE FROM console_sessions WHERE digest = ?");
  const prune = db.prepare("DELETE FROM console_sessions WHERE last_seen_at < ? OR created_at < ?");
  return {
    insert: async (r) => void insert.run(r.digest, r.role, r.createdAt, r.lastSeenAt),
    get: async (digest) => {
      const row = get.get(digest);
      return row && toSessionRow(row);
    },
    touch: async (digest, at) => void touch.run(at, digest),
    remove: async (digest) => remove.run(digest).changes > 0,
    prune: async (lastSeenBefore, createdBefore) => prune.run(lastSeenBefore, createdBefore).changes,
  };
}

type RangeParams = [number, number, number, number];

/** `settle`: the audit rows still queued for the writer thread are written first. */
export function overviewRows(db: Database.Database, settle: () => Promise<void>): OverviewRows {
  // Numbers are bound as REAL: cast, so that the bucket is an integer division. Each statement on the raw tables
  // reads one range of its covering index (audit_overview, ledger_overview) and no table row.
  const bucket = (column: string) => `(${column} - CAST(? AS INTEGER)) / CAST(? AS INTEGER)`;
  const calls = db.prepare<RangeParams, OverviewCalls[number]>(
    `SELECT ${bucket("at")} AS bucket, action, code, count(*) AS n FROM audit
     WHERE at >= ? AND at < ? AND test = 0 AND action IS NOT NULL GROUP BY 1, 2, 3`,
  );
  const charges = db.prepare<RangeParams, OverviewCharges[number]>(
    `SELECT ${bucket("at")} AS bucket, action, count(*) AS n, sum(unit_price) AS amount FROM ledger
     WHERE at >= ? AND at < ? AND test = 0 GROUP BY 1, 2`,
  );
  const latencies = db.prepare<[number, number], OverviewLatencies[number]>(
    `SELECT ${LATENCY_CLASS} AS latencyClass, count(*) AS n FROM audit
     WHERE at >= ? AND at < ? AND test = 0 AND action IS NOT NULL GROUP BY 1`,
  );
  const rolled = {
    calls: db.prepare<RangeParams, OverviewCalls[number]>(
      `SELECT ${bucket("hour")} AS bucket, action, code, sum(n) AS n FROM overview_calls WHERE hour >= ? AND hour < ? GROUP BY 1, 2, 3`,
    ),
    charges: db.prepare<RangeParams, OverviewCharges[number]>(
      `SELECT ${bucket("hour")} AS bucket, action, sum(n) AS n, sum(amount) AS amount FROM overview_charges
       WHERE hour >= ? AND hour < ? GROUP BY 1, 2`,
    ),
    latencies: db.prepare<[number, number], OverviewLatencies[number]>(
      "SELECT latency_class AS latencyClass, sum(n) AS n FROM overview_latencies WHERE hour >= ? AND hour < ? GROUP BY 1",
    ),
  };
  const named = (sql: string) => sql.replaceAll("$from", "@from").replaceAll("$to", "@to");
  const reads = {
    calls: db.prepare<{ from: number; to: number }, { hour: number; action: string; code: string; n: number }>(named(ROLLUP_READS.calls)),
    charges: db.prepare<{ from: number; to: number }, { hour: number; action: string; n: number; amount: number }>(
      named(ROLLUP_READS.charges),
    ),
    latencies: db.prepare<{ from: number; to: number }, { hour: number; latency_class: number; n: number }>(named(ROLLUP_READS.latencies)),
  };
  const writes = {
    calls: db.prepare("INSERT INTO overview_calls (hour, action, code, n) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
    charges: db.prepare("INSERT INTO overview_charges (hour, action, n, amount) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
    latencies: db.prepare("INSERT INTO overview_latencies (hour, latency_class, n) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
  };
  const oldest = db.prepare<[], { at: number | null }>(
    "SELECT min(m) AS at FROM (SELECT min(at) AS m FROM audit UNION ALL SELECT min(at) FROM ledger)",
  );
  const settled = () => settle().catch(() => undefined);
  const params = (r: OverviewRange): RangeParams => [r.originMs, r.bucketMs, r.fromMs, r.toMs];
  return {
    calls: async (r) => {
      await settled();
      return calls.all(...params(r));
    },
    charges: async (r) => {
      await settled();
      return charges.all(...params(r));
    },
    latencies: async (r) => {
      await settled();
      return latencies.all(r.fromMs, r.toMs);
    },
    rolled: async (r) => ({
      calls: rolled.calls.all(...params(r)),
      charges: rolled.charges.all(...params(r)),
      latencies: rolled.latencies.all(r.fromMs, r.toMs),
    }),
    rollUp: async (fromMs, toMs) => {
      await settled();
      // Read first, outside the write lock; then a short transaction writes the few rows the hours make.
      const range = { from: fromMs, to: toMs };
      const found = { calls: reads.calls.all(range), charges: reads.charges.all(range), latencies: reads.latencies.all(range) };
      db.transaction(() => {
        for (const c of found.calls) writes.calls.run(c.hour, c.action, c.code, c.n);
        for (const c of found.charges) writes.charges.run(c.hour, c.action, c.n, c.amount);
        for (const c of found.latencies) writes.latencies.run(c.hour, c.latency_class, c.n);
      }).immediate();
    },
    oldest: async () => {
      await settled();
      return oldest.get()?.at ?? undefined;
    },
  };
}
