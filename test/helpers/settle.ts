import { setTimeout as setTimeoutPromise } from "node:timers/promises";

/**
 * A promise's outcome once the event loop has turned: "resolved", its rejection reason, or "pending". A test that
 * asks whether something has ended yet gets an answer at once (a regression must not hang the test).
 */
export async function outcomeAfterATurn(promise: Promise<unknown>): Promise<unknown> {
  let outcome: unknown = "pending";
  promise.then(
    () => (outcome = "resolved"),
    (err: unknown) => (outcome = err),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return outcome;
}

/**
 * A promise's outcome within `ms`: "resolved", its rejection reason, or "still waiting" (a regression that never
 * settles fails its test then, not at the suite's timeout).
 */
export async function outcomeWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  const timeout = new AbortController();
  const outcome = await Promise.race([
    promise.then(
      () => "resolved",
      (err: unknown) => err,
    ),
    setTimeoutPromise(ms, "still waiting", { signal: timeout.signal }).catch(() => ""),
  ]);
  timeout.abort();
  return outcome;
}
