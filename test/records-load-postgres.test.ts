/**
 * A bulk load on PostgreSQL (store/postgres/record-load.ts) stages in a table every connection can read and builds
 * the digests' new table on a second connection, which commits it under a name of its own before the load swaps it
 * in. So: a load waits for another process's load on the same schema, whatever a killed load left behind is
 * dropped by the next, and a failure of the digests' build applies nothing and leaves nothing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { loadConfig } from "../src/app/config";
import { openInstallation } from "../src/app/installation";
import { idCheckChar } from "../src/rules/idcard";
import { PACKED, PACKED_RECORD_BYTES, type PackedRecords } from "../src/store/packed-records";
import { verify } from "./helpers/call";
import { BIN } from "./helpers/cli";
import { PG_URL } from "./helpers/services";
import { startTestServer, tempDir, type TestServer } from "./helpers/server";

function person(i: number): { phone: string; name: string; idcard: string } {
  const body = `110105${1960 + (i % 40)}${String(1 + (i % 12)).padStart(2, "0")}${String(1 + (i % 28)).padStart(2, "0")}${String(i % 1000).padStart(3, "0")}`;
  return { phone: `1391${String(i).padStart(7, "0")}`, name: "陈小华", idcard: body + idCheckChar(body) };
}

/** a CSV of people `from` .. `from + count - 1` */
function csv(file: string, from: number, count: number): string {
  const lines = Array.from({ length: count }, (_, i) => Object.values(person(from + i)).join(","));
  fs.writeFileSync(file, `phone,name,idcard\n${lines.join("\n")}\n`);
  return file;
}

/** `count` rows of random hashes (status active, carrier mobile) */
function randomBatch(count: number): PackedRecords {
  const packed = Buffer.alloc(count * PACKED_RECORD_BYTES);
  for (let i = 0; i < count; i++) {
    const at = i * PACKED_RECORD_BYTES;
    randomBytes(PACKED.carrier).copy(packed, at);
    packed[at + PACKED.carrier] = 1;
  }
  return { packed, count };
}

describe("records loads in bulk on PostgreSQL", () => {
  let server: TestServer;
  let key: { secretId: string; secretKey: string };
  const pg = new Client({ connectionString: PG_URL });
  const dir = tempDir();
  let schema = "";
  before(async () => {
    server = await startTestServer({}, "scale-out");
    key = await server.addAccount();
    schema = server.env.SANYAO_DATABASE_SCHEMA ?? "";
    await pg.connect();
  });
  after(async () => {
    await pg.end();
    await server.close();
  });

  const answer = async (i: number) =>
    (await verify(server.port, key, { Phone: person(i).phone, Name: person(i).name, IdCard: person(i).idcard })).Result;
  const importJson = async (file: string) => {
    const res = await server.cli(["records", "import", file, "--json"]);
    return { code: res.code, stderr: res.stderr, summary: res.code === 0 ? JSON.parse(res.stdout) : undefined };
  };
  const tableThere = async (name: string) =>
    (await pg.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [`${schema}.${name}`])).rows[0]?.t != null;

  it("a load's leftovers (a killed load's staging and digests' table) are dropped by the next load, which lands", async () => {
    await pg.query(`CREATE UNLOGGED TABLE ${schema}.import_staging (n bigint, rec bytea)`);
    await pg.query(`CREATE TABLE ${schema}.record_digests_load (LIKE ${schema}.record_digests)`);
    const res = await importJson(csv(path.join(dir, "after-kill.csv"), 0, 3000));
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.summary.imported, 3000);
    assert.equal(await answer(0), "0");
    assert.equal(await answer(2999), "0");
    assert.deepEqual([await tableThere("import_staging"), await tableThere("record_digests_load")], [false, false]);
  });

  it("a failure of the digests' build applies nothing and leaves nothing behind", async () => {
    // the digests' new key cannot take its name: the second connection's build fails, after the records' began
    await pg.query(`CREATE TABLE ${schema}.squatter (x int)`);
    await pg.query(`CREATE INDEX record_digests_load_pkey ON ${schema}.squatter (x)`);
    try {
      const res = await importJson(csv(path.join(dir, "doomed.csv"), 10_000, 3000));
      assert.notEqual(res.code, 0, "the load failed");
      assert.doesNotMatch(res.stderr, /1391|陈小华/, "no value in the message");
    } finally {
      await pg.query(`DROP TABLE ${schema}.squatter`);
    }
    assert.notEqual(await answer(10_000), "0", "no row of the failed load was applied");
    assert.equal(await answer(0), "0", "the rows before it are still there");
    assert.deepEqual([await tableThere("import_staging"), await tableThere("record_digests_load")], [false, false]);
    const again = await importJson(csv(path.join(dir, "doomed-again.csv"), 10_000, 3000));
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await answer(10_000), "0");
  });

  it("a load in another process waits for the one staging, and both land whole", async () => {
    const inst = await openInstallation(loadConfig({}, server.env), { create: false });
    let releaseMine = () => {};
    const held = new Promise<void>((resolve) => {
      releaseMine = resolve;
    });
    try {
      const mine = randomBatch(500);
      const first = inst.store.records.load(
        (async function* () {
          yield mine;
          await held;
        })(),
      );
      first.catch(() => undefined);
      const file = csv(path.join(dir, "second.csv"), 20_000, 3000);
      const child = spawn(process.execPath, [BIN, "records", "import", file, "--json"], {
        env: { ...process.env, ...server.env },
        stdio: "pipe",
      });
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += String(chunk);
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      // the other process's load has reached the point where it must wait: a session of it waits on a lock
      const waiting = async () =>
        (
          await pg.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
             AND (query LIKE '%pg_advisory_lock%records load%' OR query LIKE '%import_staging%')`,
          )
        ).rows.length > 0;
      for (let i = 0; i < 500 && !(await waiting()); i++) {
        assert.equal(child.exitCode, null, `the second load ended while the first was staging: ${stderr}`);
        await sleep(20);
      }
      assert.ok(await waiting(), "the second load waits");
      releaseMine();
      assert.deepEqual(await first, { loaded: 500, replaced: 0 });
      assert.equal(await exited, 0, stderr);
      for (const i of [0, 499]) {
        const phone = mine.packed.subarray(i * PACKED_RECORD_BYTES, i * PACKED_RECORD_BYTES + 32);
        assert.ok(await inst.store.records.find(phone), "a row of the first load is there");
      }
      assert.equal(await answer(20_000), "0");
      assert.equal(await answer(22_999), "0");
      assert.equal(await answer(0), "0", "the rows before both are still there");
    } finally {
      releaseMine();
      await inst.close();
    }
  });
});
