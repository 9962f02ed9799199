/** The embedded store's console rows: sign-in sessions, and the overview's counts (from covering indexes on time). */
import type Database from "better-sqlite3";
import { LATENCY_CLASS, type SessionTableRow, toSessionRow } from "../console-rows";
import type { OverviewRange, OverviewRows, SessionRows } from "../ports";

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

/** `settle`: the audit rows still queued for the writer thread are written first. */
export function overviewRows(db: Database.Database, settle: () => Promise<void>): OverviewRows {
  // Each reads one range of its index (audit_overview, ledger_overview) and nothing else: no table row is visited.
  const calls = db.prepare<[number, number, number, number], { bucket: number; action: string; code: string; n: number }>(
    `SELECT (at - ?) / ? AS bucket, action, code, count(*) AS n FROM audit
     WHERE at >= ? AND at < ? AND test = 0 AND action IS NOT NULL GROUP BY 1, 2, 3`,
  );
  const charges = db.prepare<[number, number, number, number], { bucket: number; action: string; n: number; amount: number }>(
    `SELECT (at - ?) / ? AS bucket, action, count(*) AS n, sum(unit_price) AS amount FROM ledger
     WHERE at >= ? AND at < ? AND test = 0 GROUP BY 1, 2`,
  );
  const latencies = db.prepare<[number, number], { latencyClass: number; n: number }>(
    `SELECT ${LATENCY_CLASS} AS latencyClass, count(*) AS n FROM audit
     WHERE at >= ? AND at < ? AND test = 0 AND action IS NOT NULL GROUP BY 1`,
  );
  const settled = () => settle().catch(() => undefined);
  return {
    calls: async (r: OverviewRange) => {
      await settled();
      return calls.all(r.fromMs, r.bucketMs, r.fromMs, r.toMs);
    },
    charges: async (r) => {
      await settled();
      return charges.all(r.fromMs, r.bucketMs, r.fromMs, r.toMs);
    },
    latencies: async (r) => {
      await settled();
      return latencies.all(r.fromMs, r.toMs);
    },
  };
}
