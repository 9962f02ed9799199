/**
 * Writes the paid answers that wait (paid-answers.ts) into the store: at start, then every 5 s, oldest first and one
 * at a time, so a store just back is not flooded. A charge is written with ledger.charge — the ledger takes a
 * RequestId once, so one already there is not debited again — and dropped from the journal only once the ledger is
 * read to hold it; a lost call goes to the unknown list the same way. A store still away ends the round.
 */
import { UnavailableError } from "../common/unavailable";
import type { PaidEntry } from "./paid-journal";
import type { UnsettledPaidAnswers } from "./paid-answers";
import type { Ledger } from "./storage";

export const REPLAY_EVERY_MS = 5000;

export class PaidReplay {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly paid: Pick<UnsettledPaidAnswers, "pending" | "settled" | "persistHeld">,
    private readonly ledger: Pick<Ledger, "charge" | "has" | "markUnknown">,
  ) {}

  start(): void {
    void this.replay();
    this.timer = setInterval(() => void this.replay(), REPLAY_EVERY_MS);
    this.timer.unref();
  }

  /** One round; a round under way is joined, not doubled. */
  replay(): Promise<void> {
    this.round ??= this.writeAll().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  private async writeAll(): Promise<void> {
    this.paid.persistHeld();
    for (const paid of this.paid.pending()) {
      if (this.stopped) return;
      try {
        if (!(await this.write(paid))) continue;
      } catch (err) {
        if (err instanceof UnavailableError) return; // still away: the next round tries again
        continue; // this entry alone failed (it was reported when kept); the others may go in
      }
      this.paid.settled(paid.entry.requestId);
    }
  }

  /** Writes one entry; true once the store holds it. */
  private async write(paid: PaidEntry): Promise<boolean> {
    if (paid.kind === "unknown") {
      await this.ledger.markUnknown(paid.entry);
      return true;
    }
    await this.ledger.charge(paid.entry);
    // A charge whose commit was not seen may have gone back to the journal: only the ledger read back settles it.
    return this.ledger.has(paid.entry.requestId);
  }

  /** Stops the rounds; waits for the one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.round;
  }
}
