/**
 * A bulk load into PostgreSQL (RecordRows.load): the packed rows go into an UNLOGGED staging table (never
 * WAL-logged), each batch in one statement whose one binary parameter the server cuts into rows; then, in one
 * transaction, one INSERT … SELECT a table takes them apart and merges them in key order (or a large load rebuilds
 * both tables, record-rebuild.ts). A failure, or the connection dying before the last COMMIT, rolls the merge back;
 * one lost during that COMMIT is settled before the load reports (committed(): the transaction's status once the
 * session that sent it has ended). A failure drops the staging too, and what a kill leaves of it (and of the digests'
 * new table) the next load drops. Readers go on reading the old rows meanwhile; other writers of records wait for the
 * merge (SHARE ROW EXCLUSIVE), so the replaced count is exact.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { DatabaseError, type PoolClient } from "pg";
import { isJsonObject } from "../../common/stored-json";
import { untilAborted } from "../../common/until-aborted";
import { LoadOutcomeUnknown } from "../load-outcome-unknown";
import { pollAdvisoryLock } from "./advisory-lock";
import { DIGESTS_LOAD, rebuildStatements, type TableBuild } from "./record-rebuild";
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
/**
 * One load at a time per schema, whichever process runs it: the staging table and the digests' new table have
 * fixed names, and what is left of them once this lock is held was left by a load that was killed.
 */
const LOAD_LOCK_KEY = "pg_catalog.hashtext(coalesce(pg_catalog.current_schema(), '') || '.sanyao records load')";
const TRY_LOCK = `SELECT pg_catalog.pg_try_advisory_lock(${LOAD_LOCK_KEY}) AS ok`;
const UNLOCK = `SELECT pg_catalog.pg_advisory_unlock(${LOAD_LOCK_KEY}) AS ok`;
const LEFTOVERS = `DROP TABLE IF EXISTS import_staging, ${DIGESTS_LOAD}`;

type Run = (text: string, values?: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }>;

const runner =
  (client: PoolClient): Run =>
  (text, values = []) =>
    client.query({ text, values, ...NO_HURRY });

const ignoreError = () => undefined;

/**
 * A connection of the pool's for the load. While checked out it has no listener of the pool's: a connection lost
 * would be an unhandled 'error' event, which ends the process. The statement in flight fails with it; that is enough.
 * The signal ends the wait for one (every connection of the pool busy): one that comes after goes straight back.
 */
async function checkOut(connect: () => Promise<PoolClient>, signal: AbortSignal | undefined): Promise<PoolClient> {
  signal?.throwIfAborted();
  const connecting = connect();
  const client = signal ? await untilAborted(connecting, signal, (late) => late.release()) : await connecting;
  client.on("error", ignoreError);
  return client;
}

/** A connection that failed may still be inside a statement: closed, never handed out again. */
function giveBack(client: PoolClient, failure: unknown): void {
  client.removeListener("error", ignoreError);
  client.release(failure === undefined ? undefined : failure instanceof Error ? failure : new Error("the load failed"));
}

/** How long a load whose last COMMIT went unacknowledged may take to learn what became of it. */
const SETTLE_MS = 10_000;

/**
 * The load's last transaction, the session that commits it (a pid is reused; with its start it is not) and the
 * server's start: a server that started since (a failover, a restart) may have handed the same xid out again.
 */
interface LastTransaction {
  xid: string;
  pid: number;
  start: string;
  serverStart: string;
}

/** A time as text whatever the session's DateStyle and TimeZone (a zone's abbreviation does not read back). */
const utcText = (time: string) => `to_char(${time} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')`;
const SERVER_START = utcText("pg_catalog.pg_postmaster_start_time()");

async function lastTransaction(run: Run): Promise<LastTransaction | undefined> {
  const [row] = (
    await run(
      `SELECT pg_catalog.txid_current()::text AS xid, pg_catalog.pg_backend_pid() AS pid, ${SERVER_START} AS server_start,
        (SELECT ${utcText("backend_start")} FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid()) AS start`,
    )
  ).rows;
  const { xid, pid, start, server_start: serverStart } = row ?? {};
  return typeof xid === "string" && typeof pid === "number" && typeof start === "string" && typeof serverStart === "string"
    ? { xid, pid, start, serverStart }
    : undefined;
}

/**
 * A failure PostgreSQL answered as an error of the statement: its transaction is rolled back. Not the connection's
 * (class 08), resources' or the server's going (53, 57, 58, XX: a COMMIT may survive those), nor anything without a
 * server's answer. Settling one that did not need it costs only time.
 */
function answeredByServer(err: unknown): boolean {
  return err instanceof DatabaseError && !/^(08|53|57|58|XX)/.test(err.code ?? "");
}

/**
 * Whether the load's last transaction committed, asked on another connection once the session that sent its COMMIT
 * has ended (it may still hold the COMMIT, or be applying it; ended, its transaction's status is final). Throws
 * LoadOutcomeUnknown when that cannot be told within SETTLE_MS. What the load staged is dropped on the way, unless
 * another load has begun since (it drops it as it begins).
 */
async function committed(connect: () => Promise<PoolClient>, last: LastTransaction | undefined, commitError: unknown): Promise<boolean> {
  const deadline = performance.now() + SETTLE_MS;
  let client: PoolClient | undefined;
  let failure: unknown;
  try {
    if (!last) throw new Error("the load's transaction was not identified");
    client = await checkOutBy(connect, deadline);
    const asked = client;
    const ask = async (text: string, values: unknown[] = []) => {
      // within what is left of the budget (the load's own statements may take all night)
      const timeout = { query_timeout: Math.max(1, Math.round(deadline - performance.now())) };
      return (await asked.query({ text, values, ...timeout })).rows;
    };
    if ((await ask(`SELECT ${SERVER_START} AS t`))[0]?.t !== last.serverStart) throw new Error("the server has started since");
    const session = `FROM pg_catalog.pg_stat_activity WHERE pid = $1 AND ${utcText("backend_start")} = $2`;
    await ask(`SELECT pg_catalog.pg_terminate_backend(pid) ${session}`, [last.pid, last.start]);
    while ((await ask(`SELECT count(*)::int AS n ${session}`, [last.pid, last.start]))[0]?.n !== 0) {
      if (performance.now() > deadline) throw new Error("the session that sent the COMMIT did not end");
      await sleep(50);
    }
    const status = (await ask("SELECT pg_catalog.txid_status($1::bigint) AS status", [last.xid]))[0]?.status;
    if (status !== "committed" && status !== "aborted") throw new Error(`the transaction's status is ${String(status)}`);
    try {
      if ((await ask(TRY_LOCK))[0]?.ok === true) {
        await ask(LEFTOVERS);
        if ((await ask(UNLOCK))[0]?.ok !== true) failure = new Error("the load's turn was not given back");
      }
    } catch (err) {
      // the outcome is known: a staging left behind is the next load's to drop
      failure = err;
    }
    return status === "committed";
  } catch (err) {
    failure = err;
    throw new LoadOutcomeUnknown(new AggregateError([commitError, err], "the COMMIT, then the question of its outcome"));
  } finally {
    if (client) giveBack(client, failure);
  }
}

/** A connection of the pool's, asked for again until `deadline` (a database restarting refuses them for a while). */
async function checkOutBy(connect: () => Promise<PoolClient>, deadline: number): Promise<PoolClient> {
  for (;;) {
    try {
      return await checkOut(connect, AbortSignal.timeout(Math.max(1, Math.round(deadline - performance.now()))));
    } catch (err) {
      if (performance.now() + 200 > deadline) throw err;
      await sleep(200);
    }
  }
}

async function begin(run: Run): Promise<void> {
  await run("BEGIN");
  await run("SET LOCAL statement_timeout = 0");
  // the sorts stay in memory up to this, per sort (PostgreSQL's default is 4 MB)
  await run("SET LOCAL work_mem = '256MB'");
  await run("SET LOCAL maintenance_work_mem = '256MB'");
}

/**
 * Waits for any other load into this schema to end (advisory-lock.ts). The signal ends the wait: a server that stops
 * must not wait for another process's load to end first.
 */
async function takeTurn(run: Run, signal: AbortSignal | undefined): Promise<void> {
  const tryLock = async () => (await run(TRY_LOCK)).rows[0]?.ok === true;
  await pollAdvisoryLock(tryLock, { everyMs: 250, signal });
}

/** A new table's key built twice over one key: a phone came twice (23505 on any other index is a failure) */
const isPhoneTwice = (err: unknown) =>
  isJsonObject(err) && err.code === "23505" && typeof err.constraint === "string" && err.constraint.endsWith("_load_pkey");

/** A table's build in the load's transaction, the unsorted try within a savepoint. */
async function buildHere(run: Run, build: TableBuild): Promise<void> {
  await run("SAVEPOINT unsorted");
  try {
    for (const statement of build.unsorted) await run(statement);
    await run("RELEASE SAVEPOINT unsorted");
  } catch (err) {
    if (!isPhoneTwice(err)) throw err;
    await run("ROLLBACK TO SAVEPOINT unsorted");
    for (const statement of build.sorted) await run(statement);
  }
}

/** A table's build on the second connection: a transaction of its own, committed; the sorted try in another. */
async function buildBeside(client: PoolClient, build: TableBuild): Promise<void> {
  const run = runner(client);
  for (const statements of [build.unsorted, build.sorted]) {
    await begin(run);
    // It waits on no lock of the load's. Should something else queue ahead of it (a migration waiting for the
    // digests' table, which waits for the load), fail rather than wait forever.
    await run("SET LOCAL lock_timeout = '60s'");
    try {
      for (const statement of statements) await run(statement);
      await run("COMMIT");
      return;
    } catch (err) {
      await run("ROLLBACK").catch(() => {
        throw err;
      });
      if (statements === build.sorted || !isPhoneTwice(err)) throw err;
    }
  }
}

async function rebuild(run: Run, connect: () => Promise<PoolClient>): Promise<void> {
  await run(REBUILD.lock);
  // A second connection when the pool has one to spare within its wait; else the digests are built after the
  // records, on this one.
  const second = await checkOut(connect, undefined).catch(() => undefined);
  if (second === undefined) {
    await buildHere(run, REBUILD.records);
    await buildHere(run, REBUILD.digests);
  } else {
    // settles with the digests' failure, never rejects: it may fail while the records are still being built
    const digestsFailed = buildBeside(second, REBUILD.digests).then(
      () => undefined,
      (err: unknown) => err ?? new Error("the digests' build failed"),
    );
    let failure: unknown;
    try {
      await buildHere(run, REBUILD.records);
    } finally {
      // not left running behind a failure of the records' build: what it commits is dropped after it
      failure = await digestsFailed;
      giveBack(second, failure);
    }
    if (failure !== undefined) throw failure;
  }
  for (const statement of REBUILD.finish) await run(statement);
}

export async function loadRecords(
  connect: () => Promise<PoolClient>,
  batches: AsyncIterable<PackedRecords>,
  signal?: AbortSignal,
): Promise<{ loaded: number; replaced: number }> {
  const client = await checkOut(connect, signal);
  const run = runner(client);
  let failed: unknown;
  let locked = false;
  try {
    // a session's lock: held until unlocked below or the connection ends
    await takeTurn(run, signal);
    locked = true;
    // given up while the lock was being taken: let go of it (below) before anything is staged
    signal?.throwIfAborted();
    await begin(run);
    await run(LEFTOVERS);
    // Not a TEMP table: the digests' build reads it from its own connection. UNLOGGED: never WAL-logged either.
    await run("CREATE UNLOGGED TABLE import_staging (n bigint NOT NULL, rec bytea NOT NULL)");
    await run("COMMIT");
    await begin(run);
    let loaded = 0;
    for await (const batch of batches) {
      if (batch.count === 0) continue;
      await run(STAGE, [batch.packed.subarray(0, batch.count * PACKED_RECORD_BYTES), loaded, batch.count]);
      loaded += batch.count;
    }
    await run("ANALYZE import_staging");
    await run("COMMIT");

    await begin(run);
    await run("LOCK TABLE records IN SHARE ROW EXCLUSIVE MODE");
    const count = async () => Number((await run("SELECT count(*) AS n FROM records")).rows[0]?.n ?? 0);
    const before = await count();
    if (loaded > 0 && loaded >= before / 4) await rebuild(run, connect);
    else {
      await run(MERGE_RECORDS);
      await run(MERGE_DIGESTS);
    }
    // every loaded row either added a phone or replaced one (a phone twice in the file: its second replaced the first)
    const replaced = loaded - ((await count()) - before);
    // Should the COMMIT's acknowledgement be lost, PostgreSQL is asked what became of this transaction.
    const last = await lastTransaction(run);
    try {
      await run("COMMIT");
    } catch (err) {
      if (answeredByServer(err) || !(await committed(connect, last, err))) throw err;
    }
    return { loaded, replaced };
  } catch (err) {
    failed = err ?? new Error("the load failed");
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    // Whatever the outcome: once committed, the digests' table has its old name and only the staging is left.
    let unlocked = !locked;
    if (locked) {
      await client.query(LEFTOVERS).catch(() => undefined);
      const [row] = (await run(UNLOCK).catch(() => ({ rows: [] }))).rows;
      unlocked = row?.ok === true;
    }
    // a connection still holding the turn would keep every later load waiting: closed rather than given back
    giveBack(client, failed ?? (unlocked ? undefined : new Error("the load's turn was not given back")));
  }
}
