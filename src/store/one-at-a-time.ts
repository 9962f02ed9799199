/**
 * Tasks run one after another: each starts once the one before it has ended, however it ended. A bulk load takes
 * a store's records for itself (SQLite stages in a temporary table of the shared connection), so loads queue here.
 * A task given a signal that aborts while it waits for its turn, or had aborted before it was queued, is given up at
 * once (it never runs); once it has started, the signal is the task's own to heed.
 */
export type OneAtATime = <T>(task: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

export function oneAtATime(): OneAtATime {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>, signal?: AbortSignal) => {
    let started = false;
    const start = () => {
      started = true;
      signal?.throwIfAborted();
      return task();
    };
    const run = last.then(start, start);
    last = run.catch(() => undefined);
    if (!signal) return run;
    return new Promise<T>((resolve, reject) => {
      const giveUp = () => {
        if (!started) reject(signal.reason);
      };
      signal.addEventListener("abort", giveUp, { once: true });
      // a signal that aborted already fires no event
      if (signal.aborted) giveUp();
      run.then(resolve, reject).finally(() => signal.removeEventListener("abort", giveUp));
    });
  };
}
