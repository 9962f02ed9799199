/**
 * Tasks run one after another: each starts once the one before it has ended, however it ended. A bulk load takes
 * a store's records for itself (SQLite stages in a temporary table of the shared connection), so loads queue here.
 */
export type OneAtATime = <T>(task: () => Promise<T>) => Promise<T>;

export function oneAtATime(): OneAtATime {
  let last: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = last.then(task, task);
    last = run.catch(() => undefined);
    return run;
  };
}
