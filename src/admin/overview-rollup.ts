/**
 * The overview's hourly rollup: calls, charges and latency classes per hour, so the day and 30-day overviews read a
 * few thousand rolled-up rows and at most the last two hours from the audit trail and the ledger. An hour is rolled
 * up once it ended an hour ago (a charge or audit row comes in well within that); the store keeps how far it got
 * (meta overview.rolled-up-to), so a restart does not roll up again. One instance at a time rolls up
 * (store.exclusive); an hour rolled up twice keeps its first counts.
 *
 * Limits: a row written for an hour already rolled up (a paid answer replayed from the journal long after a crash,
 * or a test server whose clock was moved back) counts in the ledger and usage but not in the overview's day and
 * 30-day windows.
 */
import { HOUR_MS } from "../store/console-rows";
import type { OverviewCalls, OverviewCharges, OverviewLatencies, OverviewRange } from "../store/ports";
import type { Storage } from "../store/storage";

export const ROLLED_UP_TO = "overview.rolled-up-to";
/** An hour is rolled up once it ended this long ago. */
const SETTLE_MS = HOUR_MS;
/** Hours rolled up per step: a first rollup of a big installation goes a day at a time. */
const STEP_HOURS = 24;
const EVERY_MS = 5 * 60_000;

export interface OverviewCounts {
  calls: OverviewCalls;
  charges: OverviewCharges;
  latencies: OverviewLatencies;
}

export class OverviewRollup {
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Storage,
    private readonly clock: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Rolls up now, then every five minutes, in the background. */
  start(): void {
    const run = () => void this.catchUp().catch(this.onError);
    run();
    this.timer = setInterval(run, EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Rolls up every hour due; a call while one runs waits for that one. */
  catchUp(): Promise<void> {
    this.running ??= this.store
      .exclusive("overview-rollup", () => this.rollUp())
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async rolledUpTo(): Promise<number | undefined> {
    const stored = Number(await this.store.meta.get(ROLLED_UP_TO));
    return Number.isSafeInteger(stored) && stored > 0 ? stored : undefined;
  }

  private async rollUp(): Promise<void> {
    // Never ahead of the real time: a test server's clock moved forward must not close hours still to come.
    const now = Math.min(this.clock(), Date.now());
    const due = Math.floor((now - SETTLE_MS) / HOUR_MS) * HOUR_MS;
    let at = await this.rolledUpTo();
    if (at === undefined) {
      const oldest = await this.store.overview.oldest();
      if (oldest === undefined) return; // nothing yet: the first rows start it
      at = Math.floor(oldest / HOUR_MS) * HOUR_MS;
    }
    while (at < due) {
      const next = Math.min(due, at + STEP_HOURS * HOUR_MS);
      await this.store.overview.rollUp(at, next);
      await this.store.meta.set(ROLLED_UP_TO, String(next));
      at = next;
    }
  }

  /**
   * The counts of a range: whole hours rolled up from the rollup, the edges from the raw tables. Buckets shorter
   * than an hour (the hour window's minutes) come from the raw tables alone.
   */
  async counts(range: OverviewRange): Promise<OverviewCounts> {
    const raw = (fromMs: number, toMs: number): Promise<OverviewCounts> => {
      const part = { ...range, fromMs, toMs };
      if (toMs <= fromMs) return Promise.resolve({ calls: [], charges: [], latencies: [] });
      return Promise.all([this.store.overview.calls(part), this.store.overview.charges(part), this.store.overview.latencies(part)]).then(
        ([calls, charges, latencies]) => ({ calls, charges, latencies }),
      );
    };
    const rolledUpTo = range.bucketMs % HOUR_MS === 0 ? await this.rolledUpTo() : undefined;
    const rolledFrom = Math.ceil(range.fromMs / HOUR_MS) * HOUR_MS;
    const rolledTo = Math.min(Math.floor(range.toMs / HOUR_MS) * HOUR_MS, rolledUpTo ?? 0);
    if (rolledTo <= rolledFrom) return raw(range.fromMs, range.toMs);
    const parts = await Promise.all([
      raw(range.fromMs, rolledFrom),
      this.store.overview.rolled({ ...range, fromMs: rolledFrom, toMs: rolledTo }),
      raw(rolledTo, range.toMs),
    ]);
    return {
      calls: parts.flatMap((p) => p.calls),
      charges: parts.flatMap((p) => p.charges),
      latencies: parts.flatMap((p) => p.latencies),
    };
  }
}
