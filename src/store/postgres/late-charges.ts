/**
 * Charges answered as charged whose COMMIT's outcome was not seen and which PostgreSQL could not settle before the
 * answer (it was away). Each is written again, by its RequestId, until PostgreSQL takes it: the ledger keeps a
 * RequestId once, so a charge that did land is not debited again. Every one is reported (a log line and the
 * `ledger` failure metric, with its RequestId), and so is any still unwritten when the store closes.
 */
import type { FailureSink } from "../../common/failures";
import type { ChargeEntry } from "../model";

/** Pauses between rounds of writing them again: doubling from `first` up to `max`. */
const RETRY_MS = { first: 500, max: 30_000 };

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class LateCharges {
  private readonly pending = new Map<string, ChargeEntry>();
  private timer: NodeJS.Timeout | undefined;
  private delayMs = RETRY_MS.first;
  private round: Promise<void> | undefined;

  constructor(
    /** writes the charge again (idempotent by RequestId); settles once it is in the ledger */
    private readonly write: (entry: ChargeEntry) => Promise<void>,
    private readonly report: FailureSink,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(entry: ChargeEntry, cause: unknown): void {
    this.pending.set(entry.requestId, entry);
    this.report(
      "ledger",
      new Error(
        `charge ${entry.requestId} (account ${entry.accountId}): its COMMIT was sent and not acknowledged, and PostgreSQL could not ` +
          `be asked in time (${reason(cause)}); answered as charged, to be written once PostgreSQL answers`,
      ),
    );
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.writeAll().then(() => {
        this.delayMs = this.pending.size === 0 ? RETRY_MS.first : Math.min(this.delayMs * 2, RETRY_MS.max);
        this.schedule();
      });
    }, this.delayMs);
    this.timer.unref();
  }

  /** One round over the pending charges; one at a time, so a PostgreSQL just back is not flooded. */
  private writeAll(): Promise<void> {
    this.round ??= (async () => {
      for (const [requestId, entry] of [...this.pending]) {
        try {
          await this.write(entry);
          this.pending.delete(requestId);
        } catch {
          break; // still away: the next round tries again
        }
      }
    })().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  /** A last round; what is still unwritten is reported by RequestId for the operator to settle. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    await this.writeAll();
    for (const entry of this.pending.values()) {
      this.report(
        "ledger",
        new Error(
          `charge ${entry.requestId} (account ${entry.accountId}, ${entry.action}, ${entry.unitPrice} fen) was answered as charged ` +
            "and is not in the ledger: the store closed before PostgreSQL answered",
        ),
      );
    }
    this.pending.clear();
  }
}
