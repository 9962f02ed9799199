/**
 * withDeadline, the source's time budget (common/deadline.ts), on its own: every backend's lookups go through it,
 * while test/source-deadline.test.ts can hold a lookup only on PostgreSQL.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withDeadline } from "../src/common/deadline";

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
const later = <T>(ms: number, settle: () => T | Promise<T>) => new Promise<T>((resolve) => setTimeout(() => resolve(settle()), ms));

describe("withDeadline", () => {
  it("gives the work's value, and leaves no timer behind", async () => {
    const before = activeTimers();
    assert.equal(await withDeadline(Promise.resolve(42), 60_000), 42);
    assert.equal(activeTimers(), before);
  });

  it("passes the work's own failure on as it is, and leaves no timer behind", async () => {
    const before = activeTimers();
    const failure = new Error("the store is away");
    await assert.rejects(withDeadline(Promise.reject(failure), 60_000), (err) => err === failure);
    assert.equal(activeTimers(), before);
  });

  it("rejects once the budget is spent, and a failure of the work after it is nobody's unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", note);
    try {
      const slow = later(50, () => Promise.reject(new Error("too late")));
      await assert.rejects(withDeadline(slow, 10), /source exceeded its 10 ms budget/);
      // past the work's failure, and a turn for an unhandled rejection to be reported, before anyone else handles it
      await later(100, () => undefined);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled.map(String), []);
      await slow.catch(() => undefined);
    } finally {
      process.off("unhandledRejection", note);
    }
  });
});
