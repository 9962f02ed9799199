/** An account's ledger as the operations API lists and exports it: charges in CNY, newest first. */
import { formatAmount } from "../common/money";
import type { LedgerEntry, LedgerQuery, UnknownEntry } from "../store/model";
import type { Storage } from "../store/storage";
import { chinaDay } from "./days";

export const LEDGER_COLUMNS = ["at", "day", "requestId", "secretId", "action", "mode", "amount", "test", "upstreamRequestId"] as const;

export function shownEntry(e: LedgerEntry) {
  return {
    at: new Date(e.at).toISOString(),
    day: chinaDay(e.at),
    requestId: e.requestId,
    secretId: e.secretId,
    action: e.action,
    mode: e.mode,
    amount: formatAmount(e.unitPrice),
    test: e.test,
    ...(e.upstreamRequestId !== undefined && { upstreamRequestId: e.upstreamRequestId }),
  };
}

export type ShownEntry = ReturnType<typeof shownEntry>;

/** The entries of a query, all of them, a page at a time by keyset (an export of a million rows never skips over rows). */
export async function* allEntries(store: Storage, query: Omit<LedgerQuery, "limit" | "offset" | "after">, pageSize = 1000) {
  let after: LedgerQuery["after"];
  for (;;) {
    const page = await store.ledger.entries({ ...query, limit: pageSize, ...(after && { after }) });
    for (const e of page) {
      const shown = shownEntry(e);
      yield LEDGER_COLUMNS.map((c) => shown[c] ?? "");
    }
    const last = page[page.length - 1];
    if (page.length < pageSize || last === undefined) return;
    after = { at: last.at, requestId: last.requestId };
  }
}

export const shownUnknown = (u: UnknownEntry) => ({ ...u, at: new Date(u.at).toISOString() });
