/**
 * The embedded store's WAL is copied back into the database file by the writer's checkpointer thread, a moment after
 * the commits, not once the WAL has grown past SQLite's 1,000 pages inside a request's commit.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { it } from "node:test";
import Database from "better-sqlite3";
import { DATABASE_FILE } from "../src/store/sqlite/store";
import { CHECKPOINT_EVERY_MS } from "../src/store/sqlite/checkpointer";
import { verify } from "./helpers/call";
import { startTestServer, tempDir } from "./helpers/server";

/**
 * The audit entries in the database file itself, leaving out what only the WAL holds; 0 while the file says nothing
 * yet (its tables still only in the WAL) or a copy taken mid-checkpoint is torn.
 */
function auditedInFile(dataDir: string, copy: string): number {
  fs.copyFileSync(path.join(dataDir, DATABASE_FILE), copy);
  try {
    const db = new Database(copy, { readonly: true });
    try {
      const made = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'audit'").get() !== undefined;
      return made ? (db.prepare<[], number>("SELECT count(*) FROM audit").pluck().get() ?? 0) : 0;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

it("a few commits reach the database file within moments, with the server still running", async () => {
  const server = await startTestServer();
  try {
    const key = await server.addAccount();
    const calls = 40; // a few dozen WAL pages: SQLite alone would leave them in the WAL
    for (let i = 0; i < calls; i++) {
      assert.equal((await verify(server.port, key, { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" })).Result, "-9");
    }
    const copy = path.join(tempDir(), "without-wal.db");
    let inFile = 0;
    for (let tries = 0; inFile < calls && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_EVERY_MS));
      inFile = auditedInFile(server.dataDir, copy);
    }
    assert.ok(inFile >= calls, `${inFile} of ${calls} audit entries in the database file`);
  } finally {
    await server.close();
  }
});
