/**
 * The overview's answers, each window's kept a few seconds per process: a count over the audit trail's last hour
 * takes most of a second on SQLite with a million rows in it, on the thread that answers the paid API, so a caller
 * polling the overview in a loop would stall it. Now a loop costs one count per window every CACHE_MS, and callers
 * asking at once share the count in flight. The console polls every few seconds, so it sees no difference.
 */
import { overview, type OverviewWindow } from "./overview";
import type { OverviewRollup } from "./overview-rollup";

export const OVERVIEW_CACHE_MS = 5_000;

type Answer = Awaited<ReturnType<typeof overview>>;

export class OverviewAnswers {
  private readonly kept = new Map<OverviewWindow, { atMs: number; answer: Promise<Answer> }>();

  constructor(readonly rollup: OverviewRollup) {}

  /** The window's overview as of `nowMs`, or as of at most OVERVIEW_CACHE_MS before it. */
  get(window: OverviewWindow, nowMs: number): Promise<Answer> {
    const kept = this.kept.get(window);
    // a clock moved back (a test server's) counts afresh too
    if (kept && nowMs >= kept.atMs && nowMs - kept.atMs < OVERVIEW_CACHE_MS) return kept.answer;
    const answer = overview(this.rollup, window, nowMs);
    const entry = { atMs: nowMs, answer };
    this.kept.set(window, entry);
    // a failed count is not kept: the next caller tries again
    answer.catch(() => {
      if (this.kept.get(window) === entry) this.kept.delete(window);
    });
    return answer;
  }
}
