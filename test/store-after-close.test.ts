/**
 * Writes that reach the embedded store after it closed (a request still running past the shutdown's drain limit
 * writes its audit entry): refused quietly, without starting a writer on a closed database or an unhandled rejection.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { startTestServer } from "./helpers/server";

it("an audit entry appended after close is dropped without an unhandled rejection", async () => {
  const server = await startTestServer();
  const store = server.installation.store;
  await server.close();
  const unhandled: unknown[] = [];
  const note = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", note);
  try {
    store.audit.append({
      at: Date.now(),
      requestId: "after-close",
      accountId: undefined,
      secretId: undefined,
      action: undefined,
      code: "OK",
      detail: undefined,
      latencyUs: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 100)); // past the queue's 20 ms
    assert.deepEqual(unhandled.map(String), []);
  } finally {
    process.off("unhandledRejection", note);
  }
});
