/**
 * Where a browser import's file waits while it is imported: a directory of the system's temporary directory that
 * only this user may enter (mkdtemp, 0700), named after the process (sanyao-import-<pid>-…). The process deletes it
 * when the import ends and when it stops; one killed meanwhile cannot, so each server sweeps at start the
 * directories of processes that are gone (and of its own pid: left by an earlier process that had it, such as pid 1
 * in a container).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const PREFIX = "sanyao-import-";
const SPOOL = /^sanyao-import-(\d+)-/;

/** A new spool directory of this process. */
export function makeSpoolDir(): Promise<string> {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // not one of ours: this process has made none before its sweep
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // another user's process: alive
  }
}

/** Removes the spool directories of processes that are gone; how many. */
export function sweepSpoolDirs(tmp: string = os.tmpdir()): number {
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = Number(SPOOL.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || alive(pid)) continue;
    try {
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
      removed++;
    } catch {
      // another user's directory: not ours to remove
    }
  }
  return removed;
}
