/**
 * Records imported by another process while the server answers: the request path reads records.db on a connection
 * of its own, one read snapshot per turn of the event loop (store/sqlite/turn-snapshot.ts). Calls in flight during the
 * import answer from the records before or after it, never anything else, and every call after it sees it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { it } from "node:test";
import Database from "better-sqlite3";
import { RECORDS_FILE } from "../src/store/sqlite/records-file";
import { verify } from "./helpers/call";
import { startTestServer, tempDir } from "./helpers/server";

/** The records in the file itself, leaving out what only its WAL holds (0 for a copy taken mid-checkpoint). */
function recordsInFile(file: string, copy: string): number {
  fs.copyFileSync(file, copy);
  try {
    const db = new Database(copy, { readonly: true });
    try {
      return db.prepare<[], number>("SELECT count(*) FROM records").pluck().get() ?? 0;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

it("an import by another process is answered from the next call on, with calls in flight throughout", async () => {
  const server = await startTestServer();
  try {
    const key = await server.addAccount();
    assert.equal((await verify(server.port, key, ZHANG)).Result, "-9");
    const file = path.join(tempDir(), "one.csv");
    fs.writeFileSync(file, `phone,name,idcard,status\n${ZHANG.Phone},${ZHANG.Name},${ZHANG.IdCard},active\n`);
    let importing = true;
    const seen = new Set<string>();
    const inFlight = Array.from({ length: 8 }, async () => {
      while (importing) seen.add(String((await verify(server.port, key, ZHANG)).Result));
    });
    const imported = await server.cli(["records", "import", file, "--json"]);
    importing = false;
    await Promise.all(inFlight);
    assert.equal(imported.code, 0, imported.stderr);
    assert.ok(
      [...seen].every((r) => r === "-9" || r === "0"),
      `answers during the import: ${[...seen]}`,
    );
    for (let i = 0; i < 5; i++) assert.equal((await verify(server.port, key, ZHANG)).Result, "0", "every call after the import");
    // and the import leaves the WAL: the records file itself holds the record (a read snapshot held by the server when
    // the importer committed kept its checkpoint from copying it; the server checkpoints records.db too)
    const copy = path.join(tempDir(), "records-without-wal.db");
    let inFile = 0;
    for (let tries = 0; inFile === 0 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      inFile = recordsInFile(path.join(server.dataDir, RECORDS_FILE), copy);
    }
    assert.equal(inFile, 1, "records in records.db itself");
  } finally {
    await server.close();
  }
});
