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
