/** What both adapters share for the console's rows: a stored session narrowed, and the latency classes' SQL. */
import { StoredDataError } from "../common/stored-json";
import { LATENCY_CLASSES_PER_E, type SessionRow } from "./ports";

export interface SessionTableRow {
  digest: Buffer;
  role: string;
  created_at: number | string;
  last_seen_at: number | string;
}

export function toSessionRow(row: SessionTableRow): SessionRow {
  if (row.role !== "operator" && row.role !== "read-only") {
    throw new StoredDataError(`A console session has the role ${JSON.stringify(row.role.slice(0, 32))}; sign in again.`);
  }
  return { digest: row.digest, role: row.role, createdAt: Number(row.created_at), lastSeenAt: Number(row.last_seen_at) };
}

/** The latency class of a row, in either dialect (both have ln): about 5 % wide. */
export const LATENCY_CLASS = `floor(ln(latency_us + 1) * ${LATENCY_CLASSES_PER_E})`;

export const HOUR_MS = 3_600_000;

/** The hourly rollup's statements: read the hours' counts (outside any transaction), then write them in one. */
export const ROLLUP_READS = {
  calls: `SELECT at / ${HOUR_MS} * ${HOUR_MS} AS hour, action, code, count(*) AS n FROM audit
          WHERE at >= $from AND at < $to AND test = 0 AND action IS NOT NULL GROUP BY 1, 2, 3`,
  charges: `SELECT at / ${HOUR_MS} * ${HOUR_MS} AS hour, action, count(*) AS n, sum(unit_price) AS amount FROM ledger
            WHERE at >= $from AND at < $to AND test = 0 GROUP BY 1, 2`,
  latencies: `SELECT at / ${HOUR_MS} * ${HOUR_MS} AS hour, ${LATENCY_CLASS} AS latency_class, count(*) AS n FROM audit
              WHERE at >= $from AND at < $to AND test = 0 AND action IS NOT NULL GROUP BY 1, 2`,
};
