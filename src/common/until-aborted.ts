/**
 * `work`'s value, or its signal's reason as soon as the signal aborts (already aborted: at once). What `work` gives
 * after that is handed to `discard` (a connection taken from a pool goes back to it), so nothing is left held.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, discard: (late: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const giveUp = () => {
      reject(signal.reason);
      // a discard that throws must not become an unhandled rejection (which would end the process)
      work.then(
        (late) => {
          try {
            discard(late);
          } catch {}
        },
        () => undefined,
      );
    };
    if (signal.aborted) return giveUp();
    signal.addEventListener("abort", giveUp, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", giveUp);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", giveUp);
        reject(err);
      },
    );
  });
}
