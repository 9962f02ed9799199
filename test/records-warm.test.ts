/**
 * A server reads records.db once at start, in the background, so lookups in a large file do not wait for the disk
 * (store/sqlite/records-warm.ts): the whole of a small file, and a log line that says how much; SQLite's locks on
 * the file are still held after it; a server stopped straight after its start leaves no descriptor of the file open;
 * of the workers of `serve --workers`, one reads it, and should it stop, the next one started. Then every serving
 * process walks the records through its own cache of them where the file is larger than SQLite's map
 * (store/sqlite/records-cache.ts), and says so.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { idCheckChar } from "../src/rules/idcard";
import { verify } from "./helpers/call";
import { serveProcess } from "./helpers/cli";
import { startTestServer, tempDir } from "./helpers/server";

type LogLine = { msg?: string; bytes?: number; rows?: number; pid?: number; reason?: string };
const READ = "records read into the page cache";
const WALKED = "records walked into this process's cache";
const NOT_WALKED = "records not walked into this process's cache";
const lineOf = (logs: string[], msg: string) => logs.map((l) => JSON.parse(l) as LogLine).find((l) => l.msg === msg);

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
    for (let i = 0; i < 100 && !lineOf(server.logs, READ); i++) await sleep(20);
    assert.equal(lineOf(server.logs, READ)?.bytes, size, "the whole file was read");
    // closing a descriptor of the file would have dropped SQLite's locks on it (POSIX), so it stays open
    assert.ok(before > 0, "SQLite holds locks on records.db");
    assert.equal(locks(), before, "the read dropped SQLite's locks on records.db");
    // SQLite's map holds the whole of this file: nothing to walk into the request path's own cache
    for (let i = 0; i < 100 && !lineOf(server.logs, NOT_WALKED); i++) await sleep(20);
    assert.match(lineOf(server.logs, NOT_WALKED)?.reason ?? "", /map of records.db holds the whole file/);
    assert.equal(lineOf(server.logs, WALKED), undefined);
  } finally {
    await server.close();
  }
});

it("a records file larger than SQLite's map is walked through the request path's cache after the read", async () => {
  const dataDir = await installationWithRecords("1360013");
  // no map at all: every page of the file lies past it
  const server = await startTestServer({ SANYAO_RECORDS_MAP_MB: "0" }, "sqlite", dataDir);
  try {
    for (let i = 0; i < 250 && !lineOf(server.logs, WALKED); i++) await sleep(20);
    assert.equal(lineOf(server.logs, WALKED)?.rows, 2000, "every record was walked");
    const order = server.logs.map((l) => (JSON.parse(l) as LogLine).msg);
    const [read, walked] = [order.indexOf(READ), order.indexOf(WALKED)];
    assert.ok(read >= 0 && read < walked, "after the read");
    const key = await server.addAccount();
    const answer = await verify(server.port, key, { Phone: "13600130007", Name: "王小明", IdCard: withCheck("11010519800101007") });
    assert.equal(answer.Result, "0", "and lookups answer as before");
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

it("SANYAO_RECORDS_CACHE_MB=0 turns the walk off, and the log says why", async () => {
  const dataDir = await installationWithRecords("1350013");
  const server = await startTestServer({ SANYAO_RECORDS_MAP_MB: "0", SANYAO_RECORDS_CACHE_MB: "0" }, "sqlite", dataDir);
  try {
    for (let i = 0; i < 250 && !lineOf(server.logs, NOT_WALKED); i++) await sleep(20);
    assert.match(lineOf(server.logs, NOT_WALKED)?.reason ?? "", /records cache is set to 0 MiB/);
    assert.equal(lineOf(server.logs, WALKED), undefined);
  } finally {
    await server.close();
  }
});

it("a server stopped straight after its start leaves no descriptor of its records file open", async () => {
  const dataDir = await installationWithRecords("1390013");
  const file = path.join(dataDir, "records.db");
  // stopped at once: the read (a few ms for this file) has begun, or ended, or not begun when close() comes
  for (let round = 0; round < 5; round++) {
    const server = await startTestServer({ SANYAO_RECORDS_MAP_MB: "0" }, "sqlite", dataDir);
    await server.close();
    assert.equal(openDescriptors(file), 0, `round ${round}: a descriptor of records.db outlived the server`);
    // the walk through the request path's cache ended with the server, whole or in part, and said which
    const walks = server.logs.map((l) => JSON.parse(l) as LogLine).filter((l) => l.msg?.startsWith("records walked"));
    assert.equal(walks.length, 1, `round ${round}: one line about the walk`);
    const walk = walks[0];
    assert.ok(
      walk?.msg === WALKED ? walk.rows === 2000 : walk?.msg === "records walked in part: the server stopped",
      `round ${round}: ${JSON.stringify(walk)}`,
    );
  }
});

it("serve --workers 2: one worker reads the file, and should it stop, the next one started", async () => {
  const dataDir = await installationWithRecords("1370013");
  const server = await serveProcess(["--data", dataDir, "--workers", "2"], { SANYAO_RECORDS_MAP_MB: "0" });
  try {
    const lines = () =>
      server
        .stdout()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as LogLine);
    const reads = () => lines().filter((l) => l.msg === "records read into the page cache");
    const skips = () => lines().filter((l) => l.msg === "records not read into the page cache");
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 500 && !done(); i++) await sleep(20);
    };
    const walks = () => lines().filter((l) => l.msg === WALKED);
    await until(() => reads().length + skips().length >= 2 && walks().length >= 2);
    assert.equal(reads().length, 1, "one worker read it");
    assert.deepEqual(
      walks().map((w) => w.rows),
      [2000, 2000],
      "each worker walked the records through its own cache",
    );
    assert.equal(new Set(walks().map((w) => w.pid)).size, 2, "two workers walked");
    assert.equal(skips().length, 1, "the other did not");
    assert.match(skips()[0]?.reason ?? "", /left to another worker/);
    const reader = reads()[0]?.pid;
    assert.ok(reader !== undefined && reader !== skips()[0]?.pid, "two workers");

    // the reader stops: the next worker started reads (the page cache may have dropped what it read)
    process.kill(reader, "SIGKILL");
    await until(() => reads().length >= 2);
    assert.equal(reads().length, 2, "the replacement read it");
    assert.notEqual(reads()[1]?.pid, reader);
    assert.equal(skips().length, 1, "and no other worker stopped reading");
    await until(() => walks().length >= 3);
    assert.equal(walks()[2]?.pid, reads()[1]?.pid, "and walked the records through its own cache");
  } finally {
    await server.stop();
  }
});
