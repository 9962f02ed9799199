/** The scale-out store's console rows: sign-in sessions, and the overview's counts (the hourly rollup, covering indexes). */
import { LATENCY_CLASS, ROLLUP_READS, type SessionTableRow, toSessionRow } from "../console-rows";
import type { OverviewCalls, OverviewCharges, OverviewLatencies, OverviewRange, OverviewRows, SessionRows } from "../ports";
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

type Counted = { bucket: string; action: string; code: string; n: string; amount: string; latency_class: string };
/** 1,000 rows of at most 4 values: 4,000 parameters a statement, far below PostgreSQL's 65,535. */
const ROLLUP_ROWS_PER_INSERT = 1000;
const toCalls = (rows: Counted[]): OverviewCalls =>
  rows.map((x) => ({ bucket: Number(x.bucket), action: x.action, code: x.code, n: Number(x.n) }));
const toCharges = (rows: Counted[]): OverviewCharges =>
  rows.map((x) => ({ bucket: Number(x.bucket), action: x.action, n: Number(x.n), amount: Number(x.amount) }));
const toLatencies = (rows: Counted[]): OverviewLatencies => rows.map((x) => ({ latencyClass: Number(x.latency_class), n: Number(x.n) }));

/**
 * `settle`: the audit rows still queued are written first. `transaction`: runs statements on one connection in
 * one transaction (the rollup's writes).
 */
export function overviewRows(
  q: Query,
  settle: () => Promise<void>,
  transaction: (work: (tq: Query) => Promise<void>) => Promise<void>,
): OverviewRows {
  const settled = () => settle().catch(() => undefined);
  const range = (r: OverviewRange) => [r.originMs, r.bucketMs, r.fromMs, r.toMs];
  const positional = (sql: string) => sql.replaceAll("$from", "$1").replaceAll("$to", "$2");
  // The raw statements read one range of their covering index (audit_overview, ledger_overview): an index-only
  // scan once vacuum has marked the pages all-visible.
  return {
    calls: async (r) => {
      await settled();
      return toCalls(
        await q<Counted>(
          `SELECT (at - $1) / $2 AS bucket, action, code, count(*) AS n FROM audit
           WHERE at >= $3 AND at < $4 AND test = 0 AND action IS NOT NULL GROUP BY 1, 2, 3`,
          range(r),
        ),
      );
    },
    charges: async (r) => {
      await settled();
      return toCharges(
        await q<Counted>(
          `SELECT (at - $1) / $2 AS bucket, action, count(*) AS n, sum(unit_price) AS amount FROM ledger
           WHERE at >= $3 AND at < $4 AND test = 0 GROUP BY 1, 2`,
          range(r),
        ),
      );
    },
    latencies: async (r) => {
      await settled();
      return toLatencies(
        await q<Counted>(
          `SELECT ${LATENCY_CLASS} AS latency_class, count(*) AS n FROM audit
           WHERE at >= $1 AND at < $2 AND test = 0 AND action IS NOT NULL GROUP BY 1`,
          [r.fromMs, r.toMs],
        ),
      );
    },
    rolled: async (r) => {
      const [calls, charges, latencies] = await Promise.all([
        q<Counted>(
          `SELECT (hour - $1) / $2 AS bucket, action, code, sum(n) AS n FROM overview_calls WHERE hour >= $3 AND hour < $4 GROUP BY 1, 2, 3`,
          range(r),
        ),
        q<Counted>(
          `SELECT (hour - $1) / $2 AS bucket, action, sum(n) AS n, sum(amount) AS amount FROM overview_charges
           WHERE hour >= $3 AND hour < $4 GROUP BY 1, 2`,
          range(r),
        ),
        q<Counted>("SELECT latency_class, sum(n) AS n FROM overview_latencies WHERE hour >= $1 AND hour < $2 GROUP BY 1", [
          r.fromMs,
          r.toMs,
        ]),
      ]);
      return { calls: toCalls(calls), charges: toCharges(charges), latencies: toLatencies(latencies) };
    },
    rollUp: async (fromMs, toMs) => {
      await settled();
      const between = [fromMs, toMs];
      const [calls, charges, latencies] = await Promise.all([
        q<Counted & { hour: string }>(positional(ROLLUP_READS.calls), between),
        q<Counted & { hour: string }>(positional(ROLLUP_READS.charges), between),
        q<Counted & { hour: string }>(positional(ROLLUP_READS.latencies), between),
      ]);
      // A statement binds at most 65,535 parameters: a history rolled up at once (migration 14 on a big installation)
      // has hours × actions × codes rows, four values each, so they go in slices of ROLLUP_ROWS_PER_INSERT.
      const insert = async (tq: Query, table: string, columns: string, rows: unknown[][]) => {
        for (let from = 0; from < rows.length; from += ROLLUP_ROWS_PER_INSERT) {
          const slice = rows.slice(from, from + ROLLUP_ROWS_PER_INSERT);
          const width = slice[0]?.length ?? 0;
          const tuples = slice.map((_, i) => `(${Array.from({ length: width }, (_, k) => `$${i * width + k + 1}`).join(", ")})`);
          await tq(`INSERT INTO ${table} (${columns}) VALUES ${tuples.join(", ")} ON CONFLICT DO NOTHING`, slice.flat());
        }
      };
      await transaction(async (tq) => {
        await insert(
          tq,
          "overview_calls",
          "hour, action, code, n",
          calls.map((c) => [c.hour, c.action, c.code, c.n]),
        );
        await insert(
          tq,
          "overview_charges",
          "hour, action, n, amount",
          charges.map((c) => [c.hour, c.action, c.n, c.amount]),
        );
        await insert(
          tq,
          "overview_latencies",
          "hour, latency_class, n",
          latencies.map((c) => [c.hour, c.latency_class, c.n]),
        );
      });
    },
    oldest: async () => {
      await settled();
      const [row] = await q<{ at: string | null }>("SELECT least((SELECT min(at) FROM audit), (SELECT min(at) FROM ledger)) AS at");
      return row?.at == null ? undefined : Number(row.at);
    },
  };
}
