/**
 * A bulk load into PostgreSQL (RecordRows.load), all in one transaction on one connection: the packed rows go
 * into a TEMP table (never WAL-logged), each batch in one statement whose one binary parameter the server cuts
 * into rows; then one INSERT … SELECT a table takes them apart and merges them in key order. A failure, or the
 * connection dying, rolls it all back. Readers go on reading the old rows meanwhile; other writers of records
 * wait for the merge (SHARE ROW EXCLUSIVE), so the replaced count is exact.
 */
import type { PoolClient } from "pg";
import { isJsonObject } from "../../common/stored-json";
import { rebuildStatements } from "./record-rebuild";
import { CARRIER_CODES, LINE_STATUS_CODES, PACKED, PACKED_RECORD_BYTES, STATUS_CODES, type PackedRecords } from "../packed-records";

/** a bulk load may take long: the pool's per-statement budget is for requests */
const NO_HURRY = { query_timeout: 24 * 3600 * 1000 };

/** a bytea of `length` bytes at zero-based `offset` of a staged row */
const part = (offset: number, length: number) => `substring(rec FROM ${offset + 1} FOR ${length})`;
const texts = (values: ReadonlyArray<string | null>) => `ARRAY[${values.map((v) => (v === null ? "NULL" : `'${v}'`)).join(", ")}]::text[]`;
/** the text of the code byte at `offset` (SQL arrays count from 1) */
const decode = (offset: number, values: ReadonlyArray<string | null>) => `(${texts(values)})[get_byte(rec, ${offset}) + 1]`;

const STAGE = `
  INSERT INTO import_staging (n, rec)
  SELECT $2::bigint + i, substring($1::bytea FROM i * ${PACKED_RECORD_BYTES} + 1 FOR ${PACKED_RECORD_BYTES})
  FROM generate_series(0, $3::int - 1) AS i`;
const since = PACKED.networkSince;
/** the loaded records, taken apart, with `n` the order read */
const STAGED = `
  SELECT n, ${part(PACKED.phoneHash, 32)} AS phone_hash, ${part(PACKED.nameHash, 32)} AS name_hash,
    ${part(PACKED.idCardHash, 32)} AS idcard_hash, ${decode(PACKED.carrier, CARRIER_CODES)} AS carrier,
    ${decode(PACKED.status, STATUS_CODES)} AS status, ${decode(PACKED.lineStatus, LINE_STATUS_CODES)} AS line_status,
    CASE get_byte(rec, ${since}) WHEN 0 THEN NULL ELSE convert_from(${part(since, 10)}, 'UTF8') END AS network_since
  FROM import_staging`;
/** where each digest pair starts in a staged row (1-based, as substring counts) */
const DIGEST_PAIRS = Array.from({ length: PACKED.digestCount }, (_, i) => `(${PACKED.digests + 1 + i * 2 * PACKED.digestBytes})`).join(
  ", ",
);
const NAME_DIGEST_PAIR = PACKED.digests + 1 + PACKED.nameDigestOf * 2 * PACKED.digestBytes;
/**
 * the loaded digest rows, three a record; md5's carries the name digest. The pairs' offsets come from a VALUES
 * list: a third less time than generate_series and arithmetic on its number, for three million rows here.
 */
const STAGED_DIGESTS = `
  SELECT n, substring(rec FROM d.at FOR ${PACKED.digestBytes}) AS digest_key, ${part(PACKED.phoneHash, 32)} AS phone_hash,
    substring(rec FROM d.at + ${PACKED.digestBytes} FOR ${PACKED.digestBytes}) AS pair_hash,
    CASE d.at WHEN ${NAME_DIGEST_PAIR} THEN ${part(PACKED.nameDigest, PACKED.digestBytes)} END AS name_digest
  FROM import_staging CROSS JOIN (VALUES ${DIGEST_PAIRS}) AS d(at)`;
// A small load beside the tables: upserts. DISTINCT ON keeps the last row read of a phone: ON CONFLICT may touch a
// row only once in one statement.
const MERGE_RECORDS = `
  INSERT INTO records (phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since)
  SELECT DISTINCT ON (phone_hash) phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since
  FROM (${STAGED}) AS staged
  ORDER BY phone_hash, n DESC
  ON CONFLICT (phone_hash) DO UPDATE SET name_hash = excluded.name_hash, idcard_hash = excluded.idcard_hash,
    carrier = excluded.carrier, status = excluded.status, line_status = excluded.line_status,
    network_since = excluded.network_since`;
const MERGE_DIGESTS = `
  INSERT INTO record_digests (digest_key, phone_hash, pair_hash, name_digest)
  SELECT DISTINCT ON (digest_key) digest_key, phone_hash, pair_hash, name_digest
  FROM (${STAGED_DIGESTS}) AS staged
  ORDER BY digest_key, n DESC
  ON CONFLICT (digest_key) DO UPDATE SET phone_hash = excluded.phone_hash, pair_hash = excluded.pair_hash,
    name_digest = excluded.name_digest`;
/** A large load beside the tables (a quarter of their records or more) rebuilds them (record-rebuild.ts). */
const REBUILD = rebuildStatements(STAGED, STAGED_DIGESTS);

type Run = (text: string) => Promise<unknown>;

async function rebuild(run: Run): Promise<void> {
  await run(REBUILD.lock);
  await run("SAVEPOINT unsorted");
  try {
    for (const statement of REBUILD.unsorted) await run(statement);
    await run("RELEASE SAVEPOINT unsorted");
  } catch (err) {
    // 23505: a key twice, so a phone came twice; anything else is a failure of the load
    if (!(isJsonObject(err) && err.code === "23505")) throw err;
    await run("ROLLBACK TO SAVEPOINT unsorted");
    for (const statement of REBUILD.sorted) await run(statement);
  }
  for (const statement of REBUILD.finish) await run(statement);
}

export async function loadRecords(
  connect: () => Promise<PoolClient>,
  batches: AsyncIterable<PackedRecords>,
): Promise<{ loaded: number; replaced: number }> {
  const client = await connect();
  const run = (text: string, values: unknown[] = []) => client.query({ text, values, ...NO_HURRY });
  let failed: unknown;
  try {
    await run("BEGIN");
    await run("SET LOCAL statement_timeout = 0");
    // the merge's sorts stay in memory up to this, per sort (PostgreSQL's default is 4 MB)
    await run("SET LOCAL work_mem = '256MB'");
    await run("SET LOCAL maintenance_work_mem = '256MB'");
    await run("CREATE TEMP TABLE import_staging (n bigint NOT NULL, rec bytea NOT NULL) ON COMMIT DROP");
    let loaded = 0;
    for await (const batch of batches) {
      if (batch.count === 0) continue;
      await run(STAGE, [batch.packed.subarray(0, batch.count * PACKED_RECORD_BYTES), loaded, batch.count]);
      loaded += batch.count;
    }
    await run("ANALYZE import_staging");
    await run("LOCK TABLE records IN SHARE ROW EXCLUSIVE MODE");
    const count = async () => Number((await run("SELECT count(*) AS n FROM records")).rows[0]?.n ?? 0);
    const before = await count();
    if (loaded > 0 && loaded >= before / 4) await rebuild(run);
    else {
      await run(MERGE_RECORDS);
      await run(MERGE_DIGESTS);
    }
    // every loaded row either added a phone or replaced one (a phone twice in the file: its second replaced the first)
    const replaced = loaded - ((await count()) - before);
    await run("COMMIT");
    return { loaded, replaced };
  } catch (err) {
    failed = err;
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    // a connection that failed mid-transaction is not given back to the pool
    client.release(failed instanceof Error ? failed : undefined);
  }
}
