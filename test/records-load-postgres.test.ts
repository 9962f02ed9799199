/**
 * A bulk load on PostgreSQL (store/postgres/record-load.ts) stages in a table every connection can read and builds
 * the digests' new table on a second connection, which commits it under a name of its own before the load swaps it
 * in. So: a load waits for another process's load on the same schema, whatever a killed load left behind is
 * dropped by the next, and a failure of either build, early or late, applies nothing and leaves nothing.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, Pool } from "pg";
import { loadConfig } from "../src/app/config";
import { openInstallation } from "../src/app/installation";
import { idCheckChar } from "../src/rules/idcard";
import { PACKED, PACKED_RECORD_BYTES, type PackedRecords } from "../src/store/packed-records";
import { LoadOutcomeUnknown } from "../src/store/load-outcome-unknown";
import type { RecordRows } from "../src/store/ports";
import { loadRecords } from "../src/store/postgres/record-load";
import { verify, verifyByMd5 } from "./helpers/call";
import { TcpProxy } from "./helpers/proxy";
import { outcomeWithin } from "./helpers/settle";
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
  /** the answer found through the digest rows (EncryptedPhoneVerification, md5) */
  const hashedAnswer = async (i: number) => (await verifyByMd5(server.port, key, person(i))).Result;
  const leftovers = async () => [await tableThere("import_staging"), await tableThere("record_digests_load")];
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
    assert.deepEqual(await leftovers(), [false, false]);
  });

  /**
   * `load` run with the load's records' build held at its first statement (a table of its name created by another
   * session, not yet committed: the load's own CREATE waits for it) until `meanwhile` has returned.
   */
  const holdingRecordsBuild = async <T>(load: () => Promise<T>, meanwhile: () => Promise<void>): Promise<T> => {
    const holder = new Client({ connectionString: PG_URL });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query(`CREATE TABLE ${schema}.records_load (x int)`);
      const loading = load();
      const held = async () =>
        (
          await pg.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND query LIKE 'CREATE TABLE records_load%'`,
          )
        ).rows.length > 0;
      for (let i = 0; i < 1500 && !(await held()); i++) await sleep(20);
      assert.ok(await held(), "the records' build is held");
      await meanwhile();
      await holder.query("ROLLBACK");
      return await loading;
    } finally {
      await holder.end();
    }
  };

  /**
   * An import that fails on `squat`'s account applies nothing, leaves nothing, and the next import lands. With
   * `meanwhile`, the records' build is held until it returns.
   */
  const failsOver = async (squat: string[], unsquat: string[], from: number, meanwhile?: () => Promise<void>) => {
    for (const statement of squat) await pg.query(statement);
    try {
      const file = csv(path.join(dir, `doomed-${from}.csv`), from, 3000);
      const res = meanwhile ? await holdingRecordsBuild(() => importJson(file), meanwhile) : await importJson(file);
      assert.notEqual(res.code, 0, "the load failed");
      assert.doesNotMatch(res.stderr, /1391|陈小华/, "no value in the message");
    } finally {
      for (const statement of unsquat) await pg.query(statement);
    }
    assert.notEqual(await answer(from), "0", "no record of the failed load was applied");
    assert.notEqual(await hashedAnswer(from), "0", "no digest row of the failed load was applied");
    assert.deepEqual([await answer(0), await hashedAnswer(0)], ["0", "0"], "the rows before it are still there");
    assert.deepEqual(await leftovers(), [false, false], "what the load made is dropped, committed or not");
    const again = await importJson(csv(path.join(dir, `again-${from}.csv`), from, 3000));
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([await answer(from), await hashedAnswer(from)], ["0", "0"]);
  };

  it("the digests' build failing at its key: nothing applied, nothing left", async () => {
    await failsOver(
      [`CREATE TABLE ${schema}.squatter (x int)`, `CREATE INDEX record_digests_load_pkey ON ${schema}.squatter (x)`],
      [`DROP TABLE ${schema}.squatter`],
      10_000,
    );
  });

  it("the digests' build failing at once, while the records' is built: the load fails as a load, not the process", async () => {
    // its table's name is a type's: the second connection's first statement fails, in milliseconds; the records'
    // build is held a second longer (a margin: should the failure come later, this test would pass, never fail)
    await failsOver([`CREATE DOMAIN ${schema}.record_digests_load AS int`], [`DROP DOMAIN ${schema}.record_digests_load`], 30_000, () =>
      sleep(1000),
    );
  });

  it("the records' build failing after the digests' table was committed: that table is dropped too", async () => {
    await failsOver(
      [`CREATE TABLE ${schema}.squatter (x int)`, `CREATE INDEX records_load_idcard ON ${schema}.squatter (x)`],
      [`DROP TABLE ${schema}.squatter`],
      40_000,
      async () => {
        for (let i = 0; i < 1500 && !(await tableThere("record_digests_load")); i++) await sleep(20);
        assert.ok(await tableThere("record_digests_load"), "the digests' table was committed while the records' build was held");
      },
    );
  });

  // The COMMIT of the load's last transaction (the one that locks the records), cut off after PostgreSQL has it or
  // before; with the session left open ("cut-"), the load must end it before its transaction's status is final.
  for (const trap of ["drop-after", "drop-before", "cut-after", "cut-before"] as const) {
    const landed = trap.endsWith("-after");
    it(`a load whose last COMMIT goes unacknowledged (${trap}) reports what PostgreSQL did: ${landed ? "landed" : "nothing applied"}`, async () => {
      const proxy = new TcpProxy(5432);
      const port = await proxy.start();
      const pool = new Pool({ connectionString: PG_URL.replace(":5432/", `:${port}/`), options: `-c search_path=${schema}`, max: 3 });
      try {
        const batch = randomBatch(20);
        const sprung = proxy.trapCommit(trap, "LOCK TABLE records");
        const loading = loadRecords(
          () => pool.connect(),
          (async function* () {
            yield batch;
          })(),
        );
        const outcome = await outcomeWithin(loading, 30_000);
        assert.equal(await outcomeWithin(sprung, 0), "resolved", "the trap sprang on the load's last COMMIT");
        const phone = batch.packed.subarray(0, 32);
        const there = (await pg.query(`SELECT 1 FROM ${schema}.records WHERE phone_hash = $1`, [phone])).rowCount === 1;
        assert.equal(there, landed);
        if (landed) assert.deepEqual(await loading, { loaded: 20, replaced: 0 });
        else {
          assert.ok(outcome instanceof Error, `the load failed: ${String(outcome)}`);
          assert.ok(!(outcome instanceof LoadOutcomeUnknown), `with the COMMIT's own failure: ${outcome.message}`);
        }
        // dropped under the load's turn, which a session left open ("cut-") holds until it is ended
        assert.deepEqual(await leftovers(), [false, false], "what it staged is dropped");
      } finally {
        await pool.end();
        await proxy.stop();
      }
    });
  }

  it("a load whose last COMMIT goes unacknowledged, with PostgreSQL out of reach after, says its outcome is unknown", async () => {
    const proxy = new TcpProxy(5432);
    const port = await proxy.start();
    const pool = new Pool({ connectionString: PG_URL.replace(":5432/", `:${port}/`), options: `-c search_path=${schema}`, max: 3 });
    try {
      const sprung = proxy.trapCommit("cut-before", "LOCK TABLE records");
      // once the COMMIT is cut off, no connection can be had: the load cannot ask what became of it
      void sprung.then(() => proxy.stop());
      const loading = loadRecords(
        () => pool.connect(),
        (async function* () {
          yield randomBatch(20);
        })(),
      );
      const outcome = await outcomeWithin(loading, 30_000);
      assert.ok(outcome instanceof LoadOutcomeUnknown, `unknown: ${String(outcome)}`);
      assert.match(outcome.message, /whether it landed could not be told; importing the file again is safe/);
      assert.ok(outcome.cause instanceof AggregateError && outcome.cause.errors.length === 2, "the COMMIT's failure, then the question's");
    } finally {
      await pool.end();
      await proxy.stop();
      // its session ended with the proxy (rolled back): what it staged is left for the next load, dropped here
      for (
        let i = 0;
        i < 100 &&
        (await pg.query("SELECT pg_try_advisory_lock(hashtext($1 || '.sanyao records load')) AS ok", [schema])).rows[0]?.ok !== true;
        i++
      )
        await sleep(50);
      await pg.query(`DROP TABLE IF EXISTS ${schema}.import_staging, ${schema}.record_digests_load`);
      await pg.query("SELECT pg_advisory_unlock(hashtext($1 || '.sanyao records load'))", [schema]);
    }
  });

  it("a load given up while it waits for a connection of its pool fails with its signal's reason, and takes none", async () => {
    const pool = new Pool({ connectionString: PG_URL, options: `-c search_path=${schema}`, max: 1 });
    const busy = await pool.connect();
    let released = false;
    try {
      const stop = new AbortController();
      const loading = loadRecords(
        () => pool.connect(),
        (async function* () {
          yield randomBatch(10);
        })(),
        stop.signal,
      );
      loading.catch(() => undefined);
      assert.equal(pool.waitingCount, 1, "the load waits for the pool's one connection");
      const reason = new Error("given up while the pool was busy");
      stop.abort(reason);
      // a load that did not heed its signal would wait for the busy connection: not for the suite's timeout
      assert.equal(await outcomeWithin(loading, 10_000), reason);
      // the connection it asked for, once it comes, goes back to the pool unused
      busy.release();
      released = true;
      for (let i = 0; i < 100 && pool.idleCount < 1; i++) await sleep(20);
      assert.deepEqual([pool.totalCount, pool.idleCount, pool.waitingCount], [1, 1, 0]);
      assert.deepEqual(await leftovers(), [false, false], "nothing staged");
    } finally {
      if (!released) busy.release();
      await pool.end();
    }
  });

  it("without a second connection to spare, the digests are built after the records on the one: a phone twice keeps its last row", async () => {
    const pool = new Pool({ connectionString: PG_URL, options: `-c search_path=${schema}`, max: 2 });
    let asked = 0;
    const connect = async () => {
      asked++;
      if (asked > 1) throw new Error("timeout exceeded when trying to connect");
      return pool.connect();
    };
    try {
      const before = Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.records`)).rows[0]?.n);
      // a rebuild (a quarter of the table or more), whose first phone comes again last with another carrier
      const batch = randomBatch(Math.ceil(before / 4) + 100);
      const last = (batch.count - 1) * PACKED_RECORD_BYTES;
      batch.packed.copy(batch.packed, last, 0, PACKED_RECORD_BYTES);
      batch.packed[last + PACKED.carrier] = 2;
      const loaded = await loadRecords(
        connect,
        (async function* () {
          yield batch;
        })(),
      );
      assert.deepEqual(loaded, { loaded: batch.count, replaced: 1 });
      assert.equal(asked, 2, "a second connection was asked for");
      const phone = batch.packed.subarray(0, 32);
      const [record] = (await pg.query(`SELECT carrier FROM ${schema}.records WHERE phone_hash = $1`, [phone])).rows;
      assert.equal(record?.carrier, "telecom", "the last row read of the phone");
      const digest = batch.packed.subarray(PACKED.digests, PACKED.digests + PACKED.digestBytes);
      const [row] = (await pg.query(`SELECT phone_hash FROM ${schema}.record_digests WHERE digest_key = $1`, [digest])).rows;
      assert.deepEqual(row?.phone_hash, Buffer.from(phone), "a digest row leads to its record");
      assert.deepEqual([await answer(0), await hashedAnswer(0)], ["0", "0"], "the rows before it are still there");
      assert.deepEqual(await leftovers(), [false, false]);
    } finally {
      await pool.end();
    }
  });

  /**
   * Another load, this process's, holding the schema's turn from its first batch until `release` is called; `fail`:
   * it then ends in a failure (nothing applied) instead of landing.
   */
  async function holdTurn(records: Pick<RecordRows, "load">, batch: PackedRecords, fail = false) {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let staged = () => {};
    const mineStaged = new Promise<void>((resolve) => {
      staged = resolve;
    });
    const done = records.load(
      (async function* () {
        yield batch;
        // asked for the next batch: the first has been staged
        staged();
        await held;
        if (fail) throw new Error("the other load, given up by the test");
      })(),
    );
    done.catch(() => undefined);
    await mineStaged;
    return { release, done };
  }

  /** Whether a load that began after this call asks for its turn and is not given it (it asks again, idle between). */
  async function turnWaiters(): Promise<() => Promise<boolean>> {
    const polling = `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle'
                       AND query LIKE '%pg_try_advisory_lock%records load%'`;
    const before = new Set((await pg.query<{ pid: number }>(polling)).rows.map((r) => r.pid));
    return async () => (await pg.query<{ pid: number }>(polling)).rows.some((r) => !before.has(r.pid));
  }

  it("a server stopping while its import waits for another process's load stops at once", async () => {
    const TOKEN = "records-load-postgres-operator-0";
    const own = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, "scale-out");
    const inst = await openInstallation(loadConfig({}, own.env), { create: false });
    let releaseMine = () => {};
    let closing: Promise<void> | undefined;
    try {
      // the other load: staged, then failed once the test lets it go (so the test server's schema can be dropped)
      releaseMine = (await holdTurn(inst.store.records, randomBatch(10), true)).release;
      const waiting = await turnWaiters();
      const rows = ["phone,name,idcard", ...[40_000, 40_001].map((i) => Object.values(person(i)).join(",")), ""].join("\n");
      const started = await fetch(`${own.opsUrl}/_sanyao/records/imports`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "text/csv" },
        body: rows,
      });
      assert.equal(started.status, 202, await started.text());
      for (let i = 0; i < 1500 && !(await waiting()); i++) await sleep(20);
      assert.ok(await waiting(), "the server's import waits for the other load");

      // The server's stop gives its import up (nothing of it staged), then stops listening: all before the other
      // load has ended.
      closing = own.close();
      const listening = () =>
        fetch(`${own.url}/`).then(
          () => true,
          () => false,
        );
      for (let i = 0; i < 400 && (await listening()); i++) await sleep(50);
      assert.equal(await listening(), false, "the server stops while the other load still holds its turn");
      assert.equal(await waiting(), false, "its import no longer asks for a turn");
      // nor holds its file (plaintext, removed with its spool directory) open in this process, which ran the server
      const spoolFilesOpen = fs.readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).includes("/sanyao-import-");
        } catch {
          return false;
        }
      });
      assert.deepEqual(spoolFilesOpen, [], "the import's file is closed");
    } finally {
      releaseMine();
      await (closing ?? own.close());
      await inst.close();
    }
  });

  it("a load given up while it waits for another's turn fails with its signal's reason, not the pause's AbortError", async () => {
    const mineInst = await openInstallation(loadConfig({}, server.env), { create: false });
    let releaseMine = () => {};
    // the load under test, given up in `finally` should an assertion fail first (else it would land once let go)
    let stop = new AbortController();
    try {
      const otherInst = await openInstallation(loadConfig({}, server.env), { create: false });
      try {
        const held = await holdTurn(mineInst.store.records, randomBatch(10), true);
        releaseMine = held.release;
        // aborts at several points of the pause between two tries (advisory-lock.test.ts covers the tries themselves)
        for (const afterMs of [0, 60, 130, 190]) {
          const waiting = await turnWaiters();
          stop = new AbortController();
          const loading = otherInst.store.records.load(
            (async function* () {
              yield randomBatch(10);
            })(),
            stop.signal,
          );
          loading.catch(() => undefined);
          for (let i = 0; i < 1500 && !(await waiting()); i++) await sleep(20);
          assert.ok(await waiting(), "the load waits for the other's turn");
          await sleep(afterMs);
          const reason = new Error(`given up after ${afterMs} ms`);
          stop.abort(reason);
          // a load that did not heed its signal would wait for the other's turn: not for the suite's timeout
          assert.equal(await outcomeWithin(loading, 10_000), reason);
        }
      } finally {
        stop.abort();
        await otherInst.close();
      }
    } finally {
      releaseMine();
      await mineInst.close();
    }
  });

  /**
   * `sanyao records import FILE` run while another load (this process's) holds the schema's turn, let go once the
   * import is seen waiting and `whileWaiting` has run (long enough for a file to have been read ahead whole).
   */
  async function importWhileWaiting(file: string, whileWaiting: () => void = () => {}) {
    const inst = await openInstallation(loadConfig({}, server.env), { create: false });
    let releaseMine = () => {};
    let child: ChildProcess | undefined;
    try {
      const mine = await holdTurn(inst.store.records, randomBatch(10));
      releaseMine = mine.release;
      const waiting = await turnWaiters();
      const importing = spawn(process.execPath, [BIN, "records", "import", file, "--json"], {
        env: { ...process.env, ...server.env },
        stdio: "pipe",
      });
      child = importing;
      let stdout = "";
      let stderr = "";
      importing.stdout.on("data", (chunk) => {
        stdout += String(chunk);
      });
      importing.stderr.on("data", (chunk) => {
        stderr += String(chunk);
      });
      // "close": its output read to the end, not only the process gone
      const exited = new Promise<number | null>((resolve) => importing.once("close", (code) => resolve(code)));
      for (let i = 0; i < 1500 && !(await waiting()); i++) await sleep(20);
      assert.ok(await waiting(), `the import waits for the other load: ${stderr}`);
      whileWaiting();
      await sleep(500);
      releaseMine();
      await mine.done;
      const timeout = new AbortController();
      const code = await Promise.race([exited, sleep(60_000, "still running", { signal: timeout.signal }).catch(() => "")]);
      timeout.abort();
      return { code, stdout, stderr };
    } finally {
      // an import left running would take the next test's turn
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      releaseMine();
      await inst.close();
    }
  }

  /** people `from` .. `from + 2999` as NDJSON, or as a CSV plain or with every field quoted (more than one 64 KiB read) */
  function peopleFile(kind: "ndjson" | "quoted csv" | "plain csv", from: number): string {
    const people = Array.from({ length: 3000 }, (_, i) => person(from + i));
    const file = path.join(dir, kind === "ndjson" ? `waiting-${from}.ndjson` : `waiting-${from}.csv`);
    const lines = people.map((p) =>
      kind === "ndjson" ? JSON.stringify(p) : kind === "plain csv" ? Object.values(p).join(",") : `"${p.phone}","${p.name}","${p.idcard}"`,
    );
    fs.writeFileSync(file, `${kind === "ndjson" ? "" : "phone,name,idcard\n"}${lines.join("\n")}\n`);
    return file;
  }

  for (const [kind, from] of [
    ["ndjson", 50_000],
    ["quoted csv", 60_000],
  ] as const) {
    it(`a ${kind} file whose import waits for another load's turn is read whole once the turn comes`, async () => {
      const { code, stdout, stderr } = await importWhileWaiting(peopleFile(kind, from));
      assert.equal(code, 0, `exit ${code}: ${stdout} ${stderr}`);
      assert.deepEqual(JSON.parse(stdout), { read: 3000, imported: 3000, replaced: 0, rejected: 0, rejections: [] });
      assert.equal(await answer(from), "0");
      assert.equal(await answer(from + 2999), "0");
    });
  }

  // The import holds the file it checked from its first look: what happens to the name meanwhile does not reach it.
  it("a quoted csv file removed while its import waits is still read whole: the import holds the file it checked", async () => {
    const file = peopleFile("quoted csv", 70_000);
    const { code, stdout, stderr } = await importWhileWaiting(file, () => fs.rmSync(file));
    assert.equal(code, 0, `exit ${code}: ${stdout} ${stderr}`);
    assert.deepEqual(JSON.parse(stdout), { read: 3000, imported: 3000, replaced: 0, rejected: 0, rejections: [] });
    assert.equal(await answer(70_000), "0");
  });

  it("a quoted csv file replaced while its import waits is not read: the import reads the file it checked", async () => {
    const file = peopleFile("quoted csv", 80_000);
    // another file renamed over it, whose quote never closes: checked, it would have been refused whole
    const other = `${peopleFile("quoted csv", 85_000)}.other`;
    fs.renameSync(path.join(dir, "waiting-85000.csv"), other);
    fs.appendFileSync(other, '"13910000000,unclosed\n');
    const { code, stdout, stderr } = await importWhileWaiting(file, () => fs.renameSync(other, file));
    assert.equal(code, 0, `exit ${code}: ${stdout} ${stderr}`);
    assert.deepEqual(JSON.parse(stdout), { read: 3000, imported: 3000, replaced: 0, rejected: 0, rejections: [] });
    assert.equal(await answer(80_000), "0");
    assert.equal(await answer(85_000), "-9", "nothing of the other file");
  });

  for (const [kind, from] of [
    ["quoted csv", 90_000],
    ["plain csv", 95_000],
  ] as const) {
    it(`a ${kind} file changed in place while its import waits is refused whole, with nothing of it applied`, async () => {
      const file = peopleFile(kind, from);
      const { code, stdout, stderr } = await importWhileWaiting(file, () =>
        fs.appendFileSync(file, `${Object.values(person(from + 3000)).join(",")}\n`),
      );
      assert.equal(code, 1, `exit ${code}: ${stdout} ${stderr}`);
      assert.match(stderr, /^sanyao: .*changed while it was being read.*nothing of it was applied/m);
      assert.doesNotMatch(stderr, /\d{11}/, "no row of it in the message");
      assert.equal(await answer(from), "-9", "nothing of it applied");
      assert.equal(await answer(from + 3000), "-9");
    });
  }

  it("a load in another process waits for the one staging, and both land whole", async () => {
    const inst = await openInstallation(loadConfig({}, server.env), { create: false });
    let releaseMine = () => {};
    try {
      const mine = randomBatch(500);
      const held = await holdTurn(inst.store.records, mine);
      releaseMine = held.release;
      const first = held.done;
      // a quarter of the table or more: the CLI's load rebuilds, on two connections
      const file = csv(path.join(dir, "second.csv"), 20_000, 8000);
      const waiting = await turnWaiters();
      const child = spawn(process.execPath, [BIN, "records", "import", file, "--json"], {
        env: { ...process.env, ...server.env },
        stdio: "pipe",
      });
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += String(chunk);
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      // the other process's load has asked for its turn and not been given it
      for (let i = 0; i < 1500 && !(await waiting()); i++) {
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
      assert.equal(await answer(27_999), "0");
      assert.equal(await answer(0), "0", "the rows before both are still there");
    } finally {
      releaseMine();
      await inst.close();
    }
  });
});
