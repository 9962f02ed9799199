/**
 * Which process waits for a call it sent to the upstream, and whether that process is gone: a `sent` entry of the
 * journal of paid answers (paid-journal.ts) left by a process that is gone will never be ended by it. The owner is
 * the host, the pid and a random tag of the process: a later process under the same pid (a container's pid 1 after a
 * restart) is told apart by its tag.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";

/** this process, as `sent` entries name it */
export const THIS_PROCESS = `${os.hostname()}/${process.pid}/${randomBytes(6).toString("hex")}`;

/**
 * Whether the owner is surely gone: an earlier process of this host under this pid, or a pid of this host that no
 * longer runs. Another host's process, or a pid that runs (a sibling worker, or another program that took the pid),
 * cannot be told gone from here: undefined.
 */
export function ownerGone(owner: string): boolean | undefined {
  if (owner === THIS_PROCESS) return false;
  const [host, pidText] = owner.split("/");
  if (host !== os.hostname()) return undefined;
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0); // signal 0: only asks whether it runs
    return undefined;
  } catch (err) {
    // EPERM: it runs, as another user
    return err instanceof Error && "code" in err && err.code === "ESRCH" ? true : undefined;
  }
}
