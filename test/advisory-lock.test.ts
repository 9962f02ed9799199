/**
 * pollAdvisoryLock (store/postgres/advisory-lock.ts), the wait of PostgreSQL's bulk loads and exclusive(): tries
 * the lock until it is taken, given up by its signal with the signal's own reason wherever the abort lands, or past
 * its deadline. The tries here stand in for `pg_try_advisory_lock` (records-load-postgres.test.ts waits on a real one).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pollAdvisoryLock } from "../src/store/postgres/advisory-lock";
import { outcomeAfterATurn } from "./helpers/settle";

/** A try that answers when the test says so; `tries` counts the tries begun. */
function tries() {
  let answer: (taken: boolean) => void = () => {};
  const state = {
    begun: 0,
    tryLock: () =>
      new Promise<boolean>((resolve) => {
        state.begun++;
        answer = resolve;
      }),
    answer: (taken: boolean) => answer(taken),
  };
  return state;
}

const PAUSE_MS = 60_000; // a pause no test waits out: only an abort can end it

describe("an advisory lock's wait", () => {
  it("takes the lock at the first try that gets it", async () => {
    const lock = tries();
    const waiting = pollAdvisoryLock(lock.tryLock, { everyMs: 1 });
    lock.answer(false);
    while (lock.begun < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    lock.answer(true);
    assert.equal(await outcomeAfterATurn(waiting), "resolved");
    assert.equal(lock.begun, 2);
  });

  it("given up before its first try: the signal's reason, and no try", async () => {
    const lock = tries();
    const reason = new Error("stopped before");
    const waiting = pollAdvisoryLock(lock.tryLock, { everyMs: PAUSE_MS, signal: AbortSignal.abort(reason) });
    assert.equal(await outcomeAfterATurn(waiting), reason);
    assert.equal(lock.begun, 0);
  });

  it("given up during a try that fails: the signal's reason, at that try's end", async () => {
    const lock = tries();
    const stop = new AbortController();
    const reason = new Error("stopped in a try");
    const waiting = pollAdvisoryLock(lock.tryLock, { everyMs: PAUSE_MS, signal: stop.signal });
    stop.abort(reason);
    lock.answer(false);
    assert.equal(await outcomeAfterATurn(waiting), reason);
    assert.equal(lock.begun, 1);
  });

  it("given up during a try that takes the lock: the lock is taken (the holder looks at the signal)", async () => {
    const lock = tries();
    const stop = new AbortController();
    const waiting = pollAdvisoryLock(lock.tryLock, { everyMs: PAUSE_MS, signal: stop.signal });
    stop.abort(new Error("stopped in the winning try"));
    lock.answer(true);
    assert.equal(await outcomeAfterATurn(waiting), "resolved");
  });

  it("given up during a pause: the signal's reason at once, not the pause's AbortError", async () => {
    const lock = tries();
    const stop = new AbortController();
    const reason = new Error("stopped in a pause");
    const waiting = pollAdvisoryLock(lock.tryLock, { everyMs: PAUSE_MS, signal: stop.signal });
    lock.answer(false);
    assert.equal(await outcomeAfterATurn(waiting), "pending", "pausing");
    stop.abort(reason);
    assert.equal(await outcomeAfterATurn(waiting), reason);
    assert.equal(lock.begun, 1);
  });

  it("past its deadline: an error with the caller's message, after the try that found the lock held", async () => {
    const lock = tries();
    const waiting = pollAdvisoryLock(lock.tryLock, { everyMs: PAUSE_MS, deadline: { at: 0, message: "held too long" } });
    assert.equal(lock.begun, 1);
    lock.answer(false);
    const outcome = await outcomeAfterATurn(waiting);
    assert.ok(outcome instanceof Error && outcome.message === "held too long", String(outcome));
  });
});
