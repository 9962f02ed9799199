/**
 * The journal of paid answers: money the ledger could not take when it was owed — a charge answered as charged, or
 * an upstream call that may have cost the company — kept on the instance's own disk until the store takes it; and,
 * in gateway mode, each call while it is with the upstream (written before it is sent, dropped when it ends), so a
 * process killed meanwhile leaves a trace its successor lists as unknown. An implementation: sqlite/paid-journal.ts.
 */
import { StoredDataError, storedFields } from "../common/stored-json";
import type { ChargeEntry, UnknownEntry } from "./model";

/** A call sent to the upstream and not ended yet: who made it, and the process that waits for its answer. */
export interface SentEntry extends Omit<UnknownEntry, "reason"> {
  /** the process that sent it (call-owner.ts) */
  owner: string;
  /** when it was written, by the wall clock of the instance (not the server's clock, which tests move) */
  sentAt: number;
}

/**
 * A charge for the ledger (replayed with ledger.charge), a lost call for the unknown list (ledger.markUnknown), or a
 * call with the upstream now (it becomes an unknown entry once the process that sent it is gone).
 */
export type PaidEntry =
  | { kind: "charge"; entry: ChargeEntry }
  | { kind: "unknown"; entry: UnknownEntry }
  | { kind: "sent"; entry: SentEntry };

export interface PaidJournal {
  /** where it keeps its entries, for the operator */
  readonly location: string;
  /**
   * Writes the entry durably (synced before it returns); throws when it cannot. A RequestId is kept once: a charge or
   * an unknown entry takes the place of the call's `sent` entry, which never takes the place of anything.
   */
  add(paid: PaidEntry): void;
  /** oldest first; an entry that cannot be read is reported and left where it is */
  list(): PaidEntry[];
  /** how many charges and unknown entries wait (0 when the journal was never written); calls with the upstream are not counted */
  count(): number;
  /** the entry is in the store now */
  remove(requestId: string): void;
  /** The call has ended: its `sent` entry goes (a charge or unknown entry that took its place stays). */
  removeSent(requestId: string): void;
  close(): void;
}

const NAME = {
  what: "An entry of the journal of paid answers",
  fix: "Write it to the ledger by hand (sanyao usage shows what is there), then delete its row from the journal.",
};

/** The entry as the journal keeps it: JSON of its fields (ids, amounts, times; never a personal value). */
export const paidEntryText = (paid: PaidEntry): string => JSON.stringify(paid.entry);

/** An entry read back from the journal, narrowed field by field. */
export function paidEntryOf(kind: string, text: string): PaidEntry {
  const f = storedFields(text, NAME);
  const common = {
    requestId: f.string("requestId"),
    accountId: f.string("accountId"),
    secretId: f.string("secretId"),
    action: f.string("action"),
    at: f.number("at"),
  };
  if (kind === "unknown") return { kind, entry: { ...common, reason: f.string("reason") } };
  if (kind === "sent") return { kind, entry: { ...common, owner: f.string("owner"), sentAt: f.number("sentAt") } };
  if (kind !== "charge") throw new StoredDataError(`${NAME.what} is damaged (its kind is not charge, unknown or sent). ${NAME.fix}`);
  const test = f.optionalBoolean("test");
  const upstreamRequestId = f.optionalString("upstreamRequestId");
  return {
    kind,
    entry: {
      ...common,
      mode: f.oneOf("mode", ["simple", "detailed"]),
      unitPrice: f.number("unitPrice"),
      ...(test === true ? { test } : {}),
      ...(upstreamRequestId === undefined ? {} : { upstreamRequestId }),
    },
  };
}
