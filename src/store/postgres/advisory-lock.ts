/**
 * A session's advisory lock, tried over and over rather than waited for inside one statement: a statement that
 * waits holds a snapshot, and one waiting longer than the statement budget would be cancelled. A connection that
 * dies takes its lock with it.
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface LockWait {
  /** pause between two tries */
  everyMs: number;
  /** given up past `at` (milliseconds since the epoch), with an error saying `message` */
  deadline?: { at: number; message: string };
  /**
   * ends the wait with the signal's own reason, whether it lands before a try, during a try that fails or during a
   * pause; a try that takes the lock wins (the caller, which holds it then, looks at the signal itself)
   */
  signal?: AbortSignal;
}

/** Calls `tryLock` (a `pg_try_advisory_lock`) until it takes the lock. */
export async function pollAdvisoryLock(tryLock: () => Promise<boolean>, wait: LockWait): Promise<void> {
  const { signal } = wait;
  for (;;) {
    signal?.throwIfAborted();
    if (await tryLock()) return;
    signal?.throwIfAborted();
    if (wait.deadline !== undefined && Date.now() > wait.deadline.at) throw new Error(wait.deadline.message);
    // the pause's own AbortError would hide the reason the caller gave
    await sleep(wait.everyMs, undefined, { signal }).catch(() => signal?.throwIfAborted());
  }
}
