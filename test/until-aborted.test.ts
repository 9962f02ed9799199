/**
 * untilAborted (common/until-aborted.ts), how a PostgreSQL load waits for a connection of its pool: the work's value,
 * or the signal's reason as soon as it aborts, with what the work gives after that handed back (never left held).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { untilAborted } from "../src/common/until-aborted";
import { outcomeAfterATurn } from "./helpers/settle";

/** Work that ends when the test says so. */
function work<T>() {
  let settle: { resolve: (value: T) => void; reject: (err: unknown) => void } = { resolve: () => {}, reject: () => {} };
  const promise = new Promise<T>((resolve, reject) => {
    settle = { resolve, reject };
  });
  return { promise, ...settle };
}

describe("waiting for work until a signal aborts", () => {
  it("gives the work's value, and discards nothing, when the work ends first", async () => {
    const w = work<string>();
    const discarded: string[] = [];
    const stop = new AbortController();
    const waiting = untilAborted(w.promise, stop.signal, (late) => discarded.push(late));
    w.resolve("connection");
    assert.equal(await waiting, "connection");
    stop.abort(new Error("too late to matter"));
    await outcomeAfterATurn(Promise.resolve());
    assert.deepEqual(discarded, []);
  });

  it("fails with the signal's reason at the abort, and discards what the work gives later", async () => {
    const w = work<string>();
    const discarded: string[] = [];
    const stop = new AbortController();
    const waiting = untilAborted(w.promise, stop.signal, (late) => discarded.push(late));
    assert.equal(await outcomeAfterATurn(waiting), "pending");
    const reason = new Error("given up");
    stop.abort(reason);
    assert.equal(await outcomeAfterATurn(waiting), reason);
    w.resolve("connection");
    await outcomeAfterATurn(w.promise);
    assert.deepEqual(discarded, ["connection"]);
  });

  it("fails at once with the reason of a signal aborted before, and still discards what the work gives", async () => {
    const w = work<string>();
    const discarded: string[] = [];
    const reason = new Error("aborted already");
    const waiting = untilAborted(w.promise, AbortSignal.abort(reason), (late) => discarded.push(late));
    assert.equal(await outcomeAfterATurn(waiting), reason);
    w.resolve("connection");
    await outcomeAfterATurn(w.promise);
    assert.deepEqual(discarded, ["connection"]);
  });

  it("fails with the work's own failure when it fails first; a failure after the abort is not unhandled", async () => {
    const discarded: string[] = [];
    const first = work<string>();
    const failure = new Error("no connection");
    const waiting = untilAborted(first.promise, new AbortController().signal, (late) => discarded.push(late));
    first.reject(failure);
    assert.equal(await outcomeAfterATurn(waiting), failure);

    const later = work<string>();
    const stop = new AbortController();
    const given = untilAborted(later.promise, stop.signal, (late) => discarded.push(late));
    stop.abort(new Error("given up"));
    await outcomeAfterATurn(given);
    later.reject(new Error("failed after the abort"));
    await outcomeAfterATurn(later.promise.catch(() => undefined));
    assert.deepEqual(discarded, [], "nothing to discard: neither work gave anything");
  });
});
