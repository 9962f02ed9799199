/**
 * A server reads records.db once at start, in the background, so lookups in a large file do not wait for the disk
 * (store/sqlite/records-warm.ts): the whole of a small file, and a log line that says how much; SQLite's locks on
 * the file are still held after it; a server stopped straight after its start leaves no descriptor of the file open;
 * the workers of `serve --workers` read it once between them.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { idCheckChar } from "../src/rules/idcard";
import { serveProcess } from "./helpers/cli";
import { startTestServer, tempDir } from "./helpers/server";

const warmedLine = (logs: string[]) =>
  logs.map((l) => JSON.parse(l) as { msg?: string; bytes?: number }).find((l) => l.msg === "records read into the page cache");

/** POSIX locks this process holds on `file`, as Linux lists them (/proc/locks: "… READ pid maj:min:inode …"). */
function heldLocks(file: string): number {
  const inode = fs.statSync(file).ino;
  return fs
    .readFileSync("/proc/locks", "utf8")
    .split("\n")
    .filter((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[4] === String(process.pid) && fields[5]?.endsWith(`:${inode}`);
    }).length;
}

const withCheck = (body: string) => `${body}${idCheckChar(body)}`;

/** An installation whose records.db holds 2,000 records (numbers from `prefix`), its server stopped: its directory. */
async function installationWithRecords(prefix: string): Promise<string> {
  const dataDir = tempDir();
  const first = await startTestServer({}, "sqlite", dataDir);
  try {
    await first.addRecords(
      Array.from({ length: 2000 }, (_, i) => ({
        phone: `${prefix}${String(i).padStart(4, "0")}`,
        name: "王小明",
        idcard: withCheck(`11010519800101${String(i % 1000).padStart(3, "0")}`),
      })),
    );
  } finally {
    await first.close();
  }
  return dataDir;
}

it("a server reads its records file into the page cache at start, and says so", async () => {
  const dataDir = await installationWithRecords("1380013");
  const size = fs.statSync(path.join(dataDir, "records.db")).size;
  assert.ok(size > 64 * 1024, "a records file of some size");
  // on a start that finds it already there
  const server = await startTestServer({}, "sqlite", dataDir);
  try {
    const locks = () => heldLocks(path.join(dataDir, "records.db"));
    const before = locks();
    for (let i = 0; i < 100 && !warmedLine(server.logs); i++) await sleep(20);
    assert.equal(warmedLine(server.logs)?.bytes, size, "the whole file was read");
    // closing a descriptor of the file would have dropped SQLite's locks on it (POSIX), so it stays open
    assert.ok(before > 0, "SQLite holds locks on records.db");
    assert.equal(locks(), before, "the read dropped SQLite's locks on records.db");
  } finally {
    await server.close();
  }
});

/** Descriptors this process holds open on `file`. */
function openDescriptors(file: string): number {
  const target = fs.realpathSync(file);
  return fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === target;
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

it("a server stopped straight after its start leaves no descriptor of its records file open", async () => {
  const dataDir = await installationWithRecords("1390013");
  const file = path.join(dataDir, "records.db");
  // stopped at once: the read (a few ms for this file) has begun, or ended, or not begun when close() comes
  for (let round = 0; round < 5; round++) {
    const server = await startTestServer({}, "sqlite", dataDir);
    await server.close();
    assert.equal(openDescriptors(file), 0, `round ${round}: a descriptor of records.db outlived the server`);
  }
});

it("serve --workers 2 reads the file once: the workers share the page cache", async () => {
  const dataDir = await installationWithRecords("1370013");
  const server = await serveProcess(["--data", dataDir, "--workers", "2"]);
  try {
    const reads = () =>
      server
        .stdout()
        .split("\n")
        .filter((l) => l.includes('"msg":"records read into the page cache"')).length;
    for (let i = 0; i < 250 && reads() === 0; i++) await sleep(20);
    assert.equal(reads(), 1, "the first worker read it");
    // both workers serve (the banner waits for them); a second read of this small file would be done in milliseconds
    await sleep(1000);
    assert.equal(reads(), 1, "and the second did not");
  } finally {
    await server.stop();
  }
});
