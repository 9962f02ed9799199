/**
 * Following the server: ask, wait, ask again — never two questions at a time. A failed ask doubles the wait (up to
 * 30 s), so a 429 or a restarting server is not asked every second; the next answer goes back to the usual pace. A
 * hidden tab asks nothing, and asks at once when it is shown again.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "../api";

const MAX_WAIT_MS = 30_000;

/**
 * Calls `ask` now and `everyMs` after each answer while `active`; `ask` is told whether its answer is still wanted
 * (the page may have moved on meanwhile). Answers the last ask's error, if it failed.
 */
export function usePoll(
  ask: (wanted: () => boolean) => Promise<void>,
  everyMs: number,
  active: boolean,
  deps: ReadonlyArray<unknown>,
): string | undefined {
  const [error, setError] = useState<string | undefined>(undefined);
  // read at each tick: a pause stops the asking as soon as it renders, not only when the effect's cleanup runs
  // (after the next paint)
  const on = useRef(active);
  on.current = active;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let asking = false;
    let wait = everyMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hidden = () => document.visibilityState === "hidden";
    const tick = async () => {
      timer = undefined;
      if (stopped || asking || !on.current || hidden()) return; // hidden: the visibilitychange below starts again
      asking = true;
      try {
        await ask(() => !stopped);
        wait = everyMs;
        if (!stopped) setError(undefined);
      } catch (err) {
        wait = Math.min(wait * 2, MAX_WAIT_MS);
        if (!stopped) setError(messageOf(err));
      }
      asking = false;
      if (!stopped) timer = setTimeout(tick, wait);
    };
    const shown = () => {
      if (hidden() || asking) return;
      clearTimeout(timer);
      void tick();
    };
    document.addEventListener("visibilitychange", shown);
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", shown);
    };
  }, [active, everyMs, ...deps]);
  return error;
}
