/**
 * A scale-out server asks PostgreSQL to read the records into its page cache when it starts, where the database has
 * pg_prewarm (store/postgres/records-warm.ts): every block of the records, their digests and their indexes, and a
 * log line that says how much. The test database's owner installs the extension, as an operator's would; without it
 * nothing is read and nothing fails. (Test files run one at a time: no other server sees the extension come and go.)
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { idCheckChar } from "../src/rules/idcard";
import { PG_URL } from "./helpers/services";
import { dropScaleOut, scaleOutEnv, startTestServer, tempDir } from "./helpers/server";

type WarmLine = { msg?: string; bytes?: number; of?: number };
const warmedLine = (logs: string[]) => logs.map((l) => JSON.parse(l) as WarmLine).find((l) => l.msg === "records read into the page cache");

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

describe("a scale-out server reads the records into the database's page cache at start", () => {
  const env = scaleOutEnv();
  const dataDir = tempDir();
  after(() => dropScaleOut(env));

  it("without pg_prewarm: nothing read, no warning", async () => {
    await sql("DROP EXTENSION IF EXISTS pg_prewarm");
    const server = await startTestServer(env, "scale-out", dataDir);
    try {
      for (let i = 0; i < 250 && !warmedLine(server.logs); i++) await sleep(20);
      assert.deepEqual([warmedLine(server.logs)?.bytes, warmedLine(server.logs)?.of], [0, 0]);
      assert.ok(!server.logs.some((l) => l.includes("could not be read ahead")), "no warning");
    } finally {
      await server.close();
    }
  });

  it("every block of the records, their digests and their indexes, with pg_prewarm", async () => {
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
      `SELECT sum(pg_relation_size(c.oid)) AS bytes
         FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = '${env.SANYAO_DATABASE_SCHEMA}'
         JOIN pg_class c ON c.oid = t.oid OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = t.oid)
        WHERE t.relname IN ('records', 'record_digests')`,
    );
    const expected = Number(sizes?.bytes);
    assert.ok(expected > 2000 * 3 * 32, "the records and their digests take some room");

    const second = await startTestServer(env, "scale-out", dataDir);
    try {
      for (let i = 0; i < 250 && !warmedLine(second.logs); i++) await sleep(20);
      const line = warmedLine(second.logs);
      assert.equal(line?.of, expected, "what was to be read: the records, the digests and their indexes");
      assert.equal(line?.bytes, expected, "all of it was read");
    } finally {
      await second.close();
    }
  });
});
