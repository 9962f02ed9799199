/**
 * oneAtATime (store/one-at-a-time.ts), the queue both stores' bulk loads wait in: a load whose signal aborts while
 * it waits for its turn is given up at once and never runs; one already running is left to heed the signal itself.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { oneAtATime } from "../src/store/one-at-a-time";
import { outcomeAfterATurn } from "./helpers/settle";

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe("one at a time", () => {
  it("gives a waiting task up when its signal aborts, and it never runs", async () => {
    const queue = oneAtATime();
    const firstGate = gate();
    const first = queue(async () => {
      await firstGate.opened;
      return "first";
    });
    const stop = new AbortController();
    let ran = false;
    const second = queue(async () => {
      ran = true;
      return "second";
    }, stop.signal);
    let thirdStarted = false;
    const third = queue(async () => {
      thirdStarted = true;
      return "third";
    });
    stop.abort(new Error("the server is stopping"));
    assert.match(String(await outcomeAfterATurn(second)), /the server is stopping/);
    assert.equal(thirdStarted, false, "the task after one given up still waits for the one running");
    firstGate.open();
    assert.equal(await first, "first");
    assert.equal(await third, "third");
    assert.equal(ran, false);
  });

  it("leaves a running task to its signal: the abort does not reject it from outside", async () => {
    const queue = oneAtATime();
    const stop = new AbortController();
    const running = gate();
    const release = gate();
    const task = queue(async () => {
      running.open();
      await release.opened;
      return "done";
    }, stop.signal);
    await running.opened;
    stop.abort();
    release.open();
    assert.equal(await task, "done");
  });

  it("gives a task up at once, behind a running one, when its signal aborted before it was queued", async () => {
    const queue = oneAtATime();
    const firstGate = gate();
    const first = queue(() => firstGate.opened);
    const stop = new AbortController();
    stop.abort(new Error("already stopping"));
    let ran = false;
    const given = queue(async () => {
      ran = true;
    }, stop.signal);
    assert.match(String(await outcomeAfterATurn(given)), /already stopping/);
    firstGate.open();
    await first;
    assert.equal(ran, false);
  });
});
