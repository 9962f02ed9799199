/** The scale-out store's console rows: sign-in sessions, and the overview's counts (from covering indexes on time). */
import { LATENCY_CLASS, type SessionTableRow, toSessionRow } from "../console-rows";
import type { OverviewRows, SessionRows } from "../ports";
import type { Query } from "./tables";

export function sessionRows(q: Query): SessionRows {
  return {
    insert: async (r) =>
      void (await q("INSERT INTO console_sessions (digest, role, created_at, last_seen_at) VALUES ($1, $2, $3, $4)", [
        r.digest,
        r.role,
        r.createdAt,
        r.lastSeenAt,
      ])),
    get: async (digest) => {
      const [row] = await q<SessionTableRow>("SELECT * FROM console_sessions WHERE digest = $1", [digest]);
      return row && toSessionRow(row);
    },
    touch: async (digest, at) =>
      void (await q("UPDATE console_sessions SET last_seen_at = greatest(last_seen_at, $1) WHERE digest = $2", [at, digest])),
    remove: async (digest) => (await q("DELETE FROM console_sessions WHERE digest = $1 RETURNING 1", [digest])).length > 0,
    prune: async (lastSeenBefore, createdBefore) =>
      (await q("DELETE FROM console_sessions WHERE last_seen_at < $1 OR created_at < $2 RETURNING 1", [lastSeenBefore, createdBefore]))
        .length,
  };
}

/** `settle`: the audit rows still queued are written first. */
export function overviewRows(q: Query, settle: () => Promise<void>): OverviewRows {
  const settled = () => settle().catch(() => undefined);
  // Each reads one range of its index (audit_overview, ledger_overview), an index-only scan once vacuum has been by.
  return {
    calls: async (r) => {
      await settled();
      const rows = await q<{ bucket: string; action: string; code: string; n: string }>(
        `SELECT (at - $1) / $2 AS bucket, action, code, count(*) AS n FROM audit
         WHERE at >= $1 AND at < $3 AND test = 0 AND action IS NOT NULL GROUP BY 1, 2, 3`,
        [r.fromMs, r.bucketMs, r.toMs],
      );
      return rows.map((x) => ({ bucket: Number(x.bucket), action: x.action, code: x.code, n: Number(x.n) }));
    },
    charges: async (r) => {
      await settled();
      const rows = await q<{ bucket: string; action: string; n: string; amount: string }>(
        `SELECT (at - $1) / $2 AS bucket, action, count(*) AS n, sum(unit_price) AS amount FROM ledger
         WHERE at >= $1 AND at < $3 AND test = 0 GROUP BY 1, 2`,
        [r.fromMs, r.bucketMs, r.toMs],
      );
      return rows.map((x) => ({ bucket: Number(x.bucket), action: x.action, n: Number(x.n), amount: Number(x.amount) }));
    },
    latencies: async (r) => {
      await settled();
      const rows = await q<{ latency_class: string; n: string }>(
        `SELECT ${LATENCY_CLASS} AS latency_class, count(*) AS n FROM audit
         WHERE at >= $1 AND at < $2 AND test = 0 AND action IS NOT NULL GROUP BY 1`,
        [r.fromMs, r.toMs],
      );
      return rows.map((x) => ({ latencyClass: Number(x.latency_class), n: Number(x.n) }));
    },
  };
}
