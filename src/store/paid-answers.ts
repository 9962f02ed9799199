/**
 * Paid answers the store could not take when they were owed (a charge answered as charged, a call the upstream may
 * have charged): written to the journal (paid-journal.ts), durably, before the answer goes out; and each call while it
 * is with the upstream, written before it is sent. When the journal cannot be written either, the entry is held in
 * this process's memory — the server is then not ready (/readyz 503) and the `sanyao_paid_answers_held` gauge counts
 * it — until it is in the store or in the journal (a call with the upstream: until it ends). Each is reported by
 * RequestId, account and action (never a personal value). paid-replay.ts writes them into the store.
 */
import type { FailureSink } from "../common/failures";
import { THIS_PROCESS } from "./call-owner";
import type { ChargeEntry } from "./model";
import type { PaidEntry, PaidJournal, SentEntry } from "./paid-journal";

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** What was owed, by whom, and why the store did not take it. */
function owed(paid: PaidEntry, cause: unknown): string {
  const e = paid.entry;
  if (paid.kind === "charge") {
    return `charge ${e.requestId} (account ${e.accountId}, ${e.action}, ${paid.entry.unitPrice} fen) was answered as charged and the ledger did not take it (${reason(cause)})`;
  }
  if (paid.kind === "sent") {
    return `upstream call ${e.requestId} (account ${e.accountId}, ${e.action}) went to the upstream, which may charge it`;
  }
  return `upstream call ${e.requestId} (account ${e.accountId}, ${e.action}) may have been charged upstream and the unknown list did not take it (${reason(cause)})`;
}

/** The part of it a store needs: where a charge it answered as charged goes when it cannot be written now. */
export interface PaidAnswerSink {
  /** keeps the entry (journal, else memory); never throws: the answer that announced it goes out either way */
  add(paid: PaidEntry, cause: unknown): void;
}

/** The calls with the upstream (gateway mode): each kept from before it is sent until it ends. */
export interface UpstreamCallLog {
  /** The call is about to be sent: kept durably (journal, else memory); never throws, the call goes either way. */
  sending(call: Omit<SentEntry, "owner" | "sentAt">): void;
  /** The call has ended — charged, uncharged, or on the unknown list (or their journal entry) — and is forgotten. */
  ended(requestId: string): void;
}

export class UnsettledPaidAnswers implements PaidAnswerSink, UpstreamCallLog {
  private readonly held = new Map<string, PaidEntry>();

  constructor(
    private readonly journal: PaidJournal,
    private readonly report: FailureSink,
  ) {}

  /** entries held in memory: the journal could not take them */
  get heldCount(): number {
    return this.held.size;
  }

  get location(): string {
    return this.journal.location;
  }

  add(paid: PaidEntry, cause: unknown): void {
    if (!this.kept(paid, cause)) return;
    this.report("ledger", new Error(`${owed(paid, cause)}; kept in the journal ${this.location}, to be written once the store takes it`));
  }

  sending(call: Omit<SentEntry, "owner" | "sentAt">): void {
    this.kept({ kind: "sent", entry: { ...call, owner: THIS_PROCESS, sentAt: Date.now() } }, "sent");
  }

  ended(requestId: string): void {
    // Held in memory: it never reached the journal.
    if (this.held.get(requestId)?.kind === "sent" && this.held.delete(requestId)) return;
    try {
      this.journal.removeSent(requestId);
    } catch (err) {
      // Left in the journal: once this process is gone, the call is listed as unknown unless the ledger charged it.
      this.report(
        "journal",
        new Error(`the journal ${this.location} could not drop upstream call ${requestId}, now ended (${reason(err)})`),
      );
    }
  }

  /** Writes the entry to the journal; true when it is there, false when it is held in memory instead (reported). */
  private kept(paid: PaidEntry, cause: unknown): boolean {
    try {
      this.journal.add(paid);
      return true;
    } catch (err) {
      this.held.set(paid.entry.requestId, paid);
      this.report(
        "journal",
        new Error(
          `${owed(paid, cause)}; held in memory: the journal ${this.location} cannot be written (${reason(err)}). ` +
            `/readyz answers 503 until ${paid.kind === "sent" ? "the call ends" : "it is in the store"}`,
        ),
      );
      return false;
    }
  }

  /** entries in the journal (0 when it cannot be read) */
  journaled(): number {
    try {
      return this.journal.count();
    } catch {
      return 0;
    }
  }

  /** What waits for the store, oldest first: the entries held in memory, then the journal's. */
  pending(): PaidEntry[] {
    let journaled: PaidEntry[] = [];
    try {
      journaled = this.journal.list();
    } catch (err) {
      this.report("journal", new Error(`the journal ${this.location} cannot be read (${reason(err)})`));
    }
    return [...this.held.values(), ...journaled.filter((p) => !this.held.has(p.entry.requestId))];
  }

  /** The charges of an account since `sinceMs` that wait for the store (test charges aside: they are no spend). */
  waitingCharges(accountId: string, sinceMs: number): ChargeEntry[] {
    return this.pending().flatMap((p) =>
      p.kind === "charge" && p.entry.accountId === accountId && p.entry.at >= sinceMs && p.entry.test !== true ? [p.entry] : [],
    );
  }

  /** The entry is in the store: forgotten here and in the journal. */
  settled(requestId: string): void {
    this.held.delete(requestId);
    try {
      this.journal.remove(requestId);
    } catch (err) {
      // Left in the journal: written again later, which the store takes as the same entry (by RequestId).
      this.report("journal", new Error(`the journal ${this.location} could not drop ${requestId}, now in the store (${reason(err)})`));
    }
  }

  /** Entries held in memory go to the journal once it can be written: they then outlive the process. */
  persistHeld(): void {
    for (const [requestId, paid] of this.held) {
      try {
        this.journal.add(paid);
      } catch {
        return; // still unwritable
      }
      this.held.delete(requestId);
    }
  }

  /** What is still held in memory is lost with the process: each is reported for the operator to settle. */
  close(): void {
    this.persistHeld();
    for (const paid of this.held.values()) {
      this.report(
        "journal",
        new Error(`${owed(paid, "the process stopped")}; it was held in memory and is in neither the store nor the journal`),
      );
    }
    this.held.clear();
    this.journal.close();
  }
}
