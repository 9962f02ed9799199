/**
 * The upstream account's per-action limit, shared fairly: every call takes a slot of its team's share first, then
 * one of the upstream's, in one-second windows counted by the installation's rate limiter (Redis in scale-out, so
 * the limit holds across instances). A team's share is the limit divided among the teams that called upstream for
 * the action in the last ten seconds, counted where the limits are (Redis in scale-out, the primary process with
 * --workers), so it is the same on every instance; a team over its share waits for the next second without taking
 * an upstream slot, so one team's burst cannot starve the others.
 */
import type { ActiveMembers, RateLimiter } from "../limits/contract";
import { SlotUse } from "./slot-use";

const ACTIVE_MS = 10_000;

export class UpstreamSlots {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly active: ActiveMembers,
    /** calls per second the upstream account takes, per action */
    private readonly limit: number,
    private readonly clock: () => number,
    /** the slots this process took, second by second (the Gateway page shows them) */
    readonly use: SlotUse = new SlotUse(),
  ) {}

  /** A slot for one call, waiting for the next window while the team or the upstream is full; false past the deadline. */
  async take(action: string, team: string, deadline: number): Promise<boolean> {
    for (;;) {
      const now = this.clock();
      const teams = await this.active.touch(`upstream:${action}`, team, now, ACTIVE_MS);
      const share = Math.max(1, Math.floor(this.limit / Math.max(1, teams)));
      if (
        (await this.limiter.admit(`upstream:${action}:${team}`, share, now)) &&
        (await this.limiter.admit(`upstream:${action}`, this.limit, now))
      ) {
        this.use.record(now);
        return true;
      }
      // The next window, with a little spread so waiting calls do not all come back at once.
      const wait = 1000 - (now % 1000) + Math.floor(Math.random() * 20);
      if (Date.now() + wait >= deadline) return false;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
