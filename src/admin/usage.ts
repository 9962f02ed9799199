/** The usage report as the CLI and the operations API show it: rows in CNY, their totals, and the CSV columns. */
import { formatAmount } from "../common/money";
import type { UsageQuery, UsageRow } from "../store/model";
import type { Storage } from "../store/storage";

export const USAGE_COLUMNS = ["accountId", "day", "action", "mode", "calls", "charged", "amount", "cached", "refused"] as const;

export type ShownUsageRow = Omit<UsageRow, "amount"> & { amount: string };

export interface UsageReport {
  rows: ShownUsageRow[];
  totals: { calls: number; charged: number; amount: string; cached: number; refused: number };
}

/** Aggregated in the store (per account, China-time day, action and mode); only the totals are added up here. */
export async function usageReport(store: Storage, query: UsageQuery): Promise<UsageReport> {
  const rows = await store.ledger.usage(query);
  const totals = rows.reduce(
    (t, r) => ({
      calls: t.calls + r.calls,
      charged: t.charged + r.charged,
      amount: t.amount + r.amount,
      cached: t.cached + r.cached,
      refused: t.refused + r.refused,
    }),
    { calls: 0, charged: 0, amount: 0, cached: 0, refused: 0 },
  );
  return { rows: rows.map((r) => ({ ...r, amount: formatAmount(r.amount) })), totals: { ...totals, amount: formatAmount(totals.amount) } };
}

/** A usage row's cells, in USAGE_COLUMNS order. */
export const usageCells = (r: ShownUsageRow) => USAGE_COLUMNS.map((c) => r[c]);
