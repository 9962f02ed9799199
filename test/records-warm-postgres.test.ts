/**
 * A scale-out server asks PostgreSQL to read the records into its page cache when it starts, where the database has
 * pg_prewarm (store/postgres/records-warm.ts): every block of the records, their digests and their indexes, counted
 * by what pg_prewarm says it read, and a log line that says how much; never a function of the same name that
 * another role put beside the extension's; no more than effective_cache_size less shared_buffers; without the extension nothing is
 * read and the log says why. The test
 * database's superuser installs the extension, as an operator's would. Another run of this file on the same
 * database (a second checkout's suite) waits for this one (an advisory lock), and the state found is put back.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { idCheckChar } from "../src/rules/idcard";
import { ensureServices, PG_URL } from "./helpers/services";
import { dropScaleOut, scaleOutEnv, startTestServer, tempDir, type TestServer } from "./helpers/server";
import { warmRecords } from "../src/store/postgres/records-warm";
import type { Query } from "../src/store/postgres/tables";

type LogLine = { msg?: string; bytes?: number; of?: number; reason?: string; boundBy?: string };
const lineSaying = (logs: string[], msg: string) => logs.map((l) => JSON.parse(l) as LogLine).find((l) => l.msg === msg);

const withCheck = (body: string) => `${body}${idCheckChar(body)}`;

async function sql<R>(statement: string): Promise<R[]> {
  const pg = new Client({ connectionString: PG_URL });
  await pg.connect();
  try {
    return (await pg.query(statement)).rows as R[];
  } finally {
    await pg.end();
  }
}

async function logged(server: TestServer, msg: string): Promise<LogLine | undefined> {
  for (let i = 0; i < 250 && !lineSaying(server.logs, msg); i++) await sleep(20);
  return lineSaying(server.logs, msg);
}

describe("a scale-out server reads the records into the database's page cache at start", () => {
  const env = scaleOutEnv();
  const dataDir = tempDir();
  /** the schema the extension was in before the test, if it was installed */
  let foundIn: string | undefined;
  const holder = new Client({ connectionString: PG_URL });
  before(async () => {
    await ensureServices();
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock(hashtext('sanyao records-warm-postgres test'))");
    const [found] = await sql<{ schema: string }>(
      "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_prewarm'",
    );
    foundIn = found?.schema;
  });
  after(async () => {
    await dropScaleOut(env);
    await sql("DROP EXTENSION IF EXISTS pg_prewarm");
    if (foundIn !== undefined) await sql(`CREATE EXTENSION pg_prewarm SCHEMA "${foundIn.replaceAll('"', '""')}"`);
    await holder.end(); // and with its session, the lock
  });

  it("without pg_prewarm: nothing read, and the log says why", async () => {
    await sql("DROP EXTENSION IF EXISTS pg_prewarm");
    const server = await startTestServer(env, "scale-out", dataDir);
    try {
      assert.match((await logged(server, "records not read into the page cache"))?.reason ?? "", /pg_prewarm is not installed/);
      assert.ok(!server.logs.some((l) => l.includes("read ahead")), "no warning, no partial read");
    } finally {
      await server.close();
    }
  });

  it("with it: every block of the records, their digests and their indexes, never a decoy's", async () => {
    await sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm");
    const first = await startTestServer(env, "scale-out", dataDir);
    try {
      await first.addRecords(
        Array.from({ length: 2000 }, (_, i) => ({
          phone: `1380013${String(i).padStart(4, "0")}`,
          name: "王小明",
          idcard: withCheck(`11010519800101${String(i % 1000).padStart(3, "0")}`),
        })),
      );
    } finally {
      await first.close();
    }
    const [sizes] = await sql<{ bytes: string }>(
      `SELECT sum(pg_relation_size(c.oid)) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = '${env.SANYAO_DATABASE_SCHEMA}'
          AND c.relname IN ('records', 'records_pkey', 'records_idcard', 'record_digests', 'record_digests_pkey')`,
    );
    const expected = Number(sizes?.bytes);
    assert.ok(expected > 2000 * 3 * 32, "the records and their digests take some room");

    // Functions of the same name beside the extension's, as a role allowed to create in its schema could put there:
    // PostgreSQL prefers text for an argument whose type the call leaves open, so either would be chosen then, and
    // answer 424,242 blocks a slice.
    const [where] = await sql<{ schema: string }>(
      "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_prewarm'",
    );
    const decoys = ["text, text", "text, bigint"].map((last) => `"${where?.schema}".pg_prewarm(regclass, text, text, ${last})`);
    for (const decoy of decoys) await sql(`CREATE FUNCTION ${decoy} RETURNS bigint LANGUAGE sql AS 'SELECT 424242::bigint'`);
    try {
      const second = await startTestServer(env, "scale-out", dataDir);
      try {
        const line = await logged(second, "records read into the page cache");
        assert.equal(line?.of, expected, "what was to be read: the records, the digests and their indexes");
        assert.equal(line?.bytes, expected, "all of it was read, as pg_prewarm counted it");
        assert.equal(line?.boundBy, undefined, "nothing bounded it");
      } finally {
        await second.close();
      }
    } finally {
      for (const decoy of decoys) await sql(`DROP FUNCTION ${decoy}`);
    }
  });

  // on the records the test before this one imported
  it("no more than effective_cache_size less shared_buffers, the records' indexes first, and it says what bounded it", async () => {
    // the store's read itself, on a session of its own: the setting is this session's, and ends with it
    const pg = new Client({ connectionString: PG_URL });
    await pg.connect();
    try {
      /** each slice pg_prewarm was asked for: the relation, its first block and its last */
      const slices: Array<{ oid: string; first: number; last: number }> = [];
      const q: Query = async (text, params) => {
        const [oid, first, last] = params ?? [];
        if (text.includes(".pg_prewarm(") && typeof oid === "string") slices.push({ oid, first: Number(first), last: Number(last) });
        return (await pg.query(text, params)).rows;
      };
      await pg.query(`SET search_path = "${(env.SANYAO_DATABASE_SCHEMA ?? "").replaceAll('"', '""')}"`);
      const relations = await q<{ oid: string; name: string; blocks: string; block_bytes: string }>(
        `SELECT c.oid::text AS oid, c.relname AS name, pg_relation_size(c.oid) / current_setting('block_size')::int AS blocks,
                current_setting('block_size') AS block_bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema()
            AND c.relname IN ('records', 'records_pkey', 'records_idcard', 'record_digests', 'record_digests_pkey')`,
      );
      const blockBytes = Number(relations[0]?.block_bytes);
      const blocksOf = new Map(relations.map((r) => [r.name, Number(r.blocks)]));
      // three blocks short of all of it: one relation is read in part, and what comes before it not at all
      const bound = relations.reduce((n, r) => n + Number(r.blocks), 0) - 3;
      assert.ok((blocksOf.get("record_digests") ?? 0) > 3, "the digests fill some blocks");
      // 'read' fills the kernel's cache, not the shared buffers that effective_cache_size counts too
      const [shared] = (await pg.query<{ bytes: string }>("SELECT pg_size_bytes(current_setting('shared_buffers'))::text AS bytes")).rows;
      await pg.query(`SET effective_cache_size = '${(bound * blockBytes + Number(shared?.bytes)) / 1024}kB'`);
      const read = await warmRecords(q, new AbortController().signal);
      assert.equal(read.of, bound * blockBytes, "what was to be read: effective_cache_size less shared_buffers");
      assert.equal(read.bytes, read.of, "all of that was read");
      assert.equal(read.boundBy, "effective_cache_size less shared_buffers");
      assert.equal(read.failed, undefined);

      // in order, each from its first block: the digests' table short of its last three blocks, the rest whole
      const nameOf = new Map(relations.map((r) => [r.oid, r.name]));
      const spans: Array<{ name: string; first: number; last: number }> = [];
      for (const slice of slices) {
        const name = nameOf.get(slice.oid) ?? slice.oid;
        const span = spans.at(-1);
        if (span?.name === name && slice.first === span.last + 1) span.last = slice.last;
        else spans.push({ name, first: slice.first, last: slice.last });
      }
      const whole = (name: string) => ({ name, first: 0, last: (blocksOf.get(name) ?? 0) - 1 });
      assert.deepEqual(spans, [
        { name: "record_digests", first: 0, last: (blocksOf.get("record_digests") ?? 0) - 4 },
        whole("record_digests_pkey"),
        whole("records"),
        whole("records_idcard"),
        whole("records_pkey"),
      ]);

      // with no more cache than the shared buffers, nothing is read, and the reason says so
      await pg.query(`SET effective_cache_size = '${Number(shared?.bytes) / 1024}kB'`);
      slices.length = 0;
      const none = await warmRecords(q, new AbortController().signal);
      assert.deepEqual([none.bytes, none.of, slices.length], [0, 0, 0]);
      assert.match(none.skipped ?? "", /effective_cache_size less shared_buffers leaves no room/);
    } finally {
      await pg.end();
    }
  });
});
