/**
 * Writes the paid answers that wait (paid-answers.ts) into the store: at start, then every 5 s, oldest first and one
 * at a time, so a store just back is not flooded. A charge is written with ledger.charge — the ledger takes a
 * RequestId once, so one already there is not debited again — and dropped from the journal only once the ledger is
 * read to hold it; a lost call goes to the unknown list the same way. A call that was with the upstream when the
 * process that sent it stopped (killed, or the machine lost) goes to the unknown list too, unless the ledger holds its
 * charge; a call another process still waits for is left to it. A store still away ends the round.
 */
import { UnavailableError } from "../common/unavailable";
import { ownerGone } from "./call-owner";
import type { PaidEntry, SentEntry } from "./paid-journal";
import type { UnsettledPaidAnswers } from "./paid-answers";
import type { Ledger } from "./storage";

export const REPLAY_EVERY_MS = 5000;

/** the reason a call left with the upstream by a process that stopped is listed as unknown */
export const STOPPED_REASON = "sanyao stopped while the call was with the upstream";

export interface ReplayOptions {
  /**
   * how long a process may keep a call with the upstream (its time budget, and then some): past it, a call whose
   * process cannot be told gone from here (another host's, or a pid that runs again) is taken as left over
   */
  inFlightMs: number;
  /** a call left over by a process that stopped, now on the unknown list (or charged already) */
  onLeftOver?: (entry: SentEntry, charged: boolean) => void;
}

export class PaidReplay {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly paid: Pick<UnsettledPaidAnswers, "pending" | "settled" | "persistHeld" | "ended">,
    private readonly ledger: Pick<Ledger, "charge" | "has" | "markUnknown">,
    private readonly options: ReplayOptions,
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
        if (paid.kind === "sent") {
          if (await this.leftOver(paid.entry)) this.paid.ended(paid.entry.requestId);
          continue;
        }
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
    if (paid.kind === "sent") return false;
    await this.ledger.charge(paid.entry);
    // A charge whose commit was not seen may have gone back to the journal: only the ledger read back settles it.
    return this.ledger.has(paid.entry.requestId);
  }

  /** A call whose process is gone: on the unknown list unless charged; true once the store holds one or the other. */
  private async leftOver(sent: SentEntry): Promise<boolean> {
    const gone = ownerGone(sent.owner) ?? Date.now() - sent.sentAt > this.options.inFlightMs;
    if (!gone) return false;
    const { owner: _, sentAt: __, ...call } = sent;
    const charged = await this.ledger.has(call.requestId);
    if (!charged) await this.ledger.markUnknown({ ...call, reason: STOPPED_REASON });
    this.options.onLeftOver?.(sent, charged);
    return true;
  }

  /** Stops the rounds; waits for the one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.round;
  }
}
