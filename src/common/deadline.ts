/** A lookup with a time budget: past it, the promise rejects (the caller answers its busy code). */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  // Two promises (its own and work.then's) and one timer a lookup, where the deadline's, Promise.race and .finally
  // made about five.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`source exceeded its ${ms} ms budget`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
