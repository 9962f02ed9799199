/**
 * A fresh installation for each server the benchmark starts: a copy of the cached one (records, accounts, keys),
 * so that no run measures the ledger, audit and keys that earlier runs left behind (a bigger database each time).
 * The cache itself is never served.
 */
import fs from "node:fs";
import path from "node:path";

/** Copies the installation in `cacheDir` to `dir` (created; SQLite's shared-memory files are rebuilt, not copied). */
export function freshInstallation(cacheDir: string, dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const entry of fs.readdirSync(cacheDir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith("-shm")) continue;
    fs.copyFileSync(path.join(cacheDir, entry.name), path.join(dir, entry.name), fs.constants.COPYFILE_FICLONE);
  }
  return dir;
}
