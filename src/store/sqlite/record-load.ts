/**
 * A bulk load into records.db (RecordRows.load): the packed rows go into a TEMP table, one blob a row (SQLite
 * keeps temporary tables in a file of their own that no crash needs, so nothing of the live file is at risk while
 * staging), then one transaction takes them apart and merges them in key order, so the B-trees fill page by page
 * instead of at random. When the load is large beside the table, the identity number index is dropped and built
 * again after the merge (a sort instead of random inserts), inside the same transaction: readers keep the old
 * snapshot until it commits, and a crash before the commit leaves the file as it was.
 */
import type Database from "better-sqlite3";
import os from "node:os";
import { oneAtATime, type OneAtATime } from "../one-at-a-time";
import { CARRIER_CODES, LINE_STATUS_CODES, PACKED, PACKED_RECORD_BYTES, STATUS_CODES, type PackedRecords } from "../packed-records";

const hexByte = (n: number) => n.toString(16).padStart(2, "0");
/** a blob of `length` bytes at zero-based `offset` of a staged row */
const part = (offset: number, length: number) => `substr(rec, ${offset + 1}, ${length})`;
/** the text of the code byte at `offset` */
const decode = (offset: number, texts: ReadonlyArray<string | null>) =>
  `CASE ${part(offset, 1)} ${texts.map((t, code) => `WHEN x'${hexByte(code)}' THEN ${t === null ? "NULL" : `'${t}'`}`).join(" ")} END`;

// A batch in one statement, cut into rows by SQLite (half the time of a statement a row).
const STAGE = `
  WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x + 1 < @count)
  INSERT INTO temp.import_staging (rec) SELECT substr(@packed, x * ${PACKED_RECORD_BYTES} + 1, ${PACKED_RECORD_BYTES}) FROM i`;
const RECORD_COLUMNS = "phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since";
const since = PACKED.networkSince;
// ORDER BY the key, then the order read: with ON CONFLICT DO UPDATE, the last row of a phone is the one that stays.
// (`WHERE true`: SQLite's parser needs it between a SELECT and ON CONFLICT.)
const MERGE_RECORDS = `
  INSERT INTO records (${RECORD_COLUMNS})
  SELECT ${part(PACKED.phoneHash, 32)}, ${part(PACKED.nameHash, 32)}, ${part(PACKED.idCardHash, 32)},
    ${decode(PACKED.carrier, CARRIER_CODES)}, ${decode(PACKED.status, STATUS_CODES)}, ${decode(PACKED.lineStatus, LINE_STATUS_CODES)},
    CASE ${part(since, 1)} WHEN x'00' THEN NULL ELSE CAST(${part(since, 10)} AS TEXT) END
  FROM temp.import_staging WHERE true ORDER BY 1, n
  ON CONFLICT(phone_hash) DO UPDATE SET name_hash = excluded.name_hash, idcard_hash = excluded.idcard_hash,
    carrier = excluded.carrier, status = excluded.status, line_status = excluded.line_status,
    network_since = excluded.network_since`;
const DIGEST_NUMBERS = Array.from({ length: PACKED.digestCount }, (_, i) => `SELECT ${i} AS i`).join(" UNION ALL ");
// The name digest goes on one of the three rows (md5's), in the same pass.
const MERGE_DIGESTS = `
  INSERT INTO record_digests (digest_key, phone_hash, pair_hash, name_digest)
  SELECT substr(rec, ${PACKED.digests + 1} + d.i * ${2 * PACKED.digestBytes}, ${PACKED.digestBytes}), ${part(PACKED.phoneHash, 32)},
    substr(rec, ${PACKED.digests + PACKED.digestBytes + 1} + d.i * ${2 * PACKED.digestBytes}, ${PACKED.digestBytes}),
    CASE d.i WHEN ${PACKED.nameDigestOf} THEN ${part(PACKED.nameDigest, PACKED.digestBytes)} END
  FROM temp.import_staging, (${DIGEST_NUMBERS}) AS d WHERE true ORDER BY 1, n
  ON CONFLICT(digest_key) DO UPDATE SET phone_hash = excluded.phone_hash, pair_hash = excluded.pair_hash,
    name_digest = excluded.name_digest`;

/**
 * How the merge sorts. SQLite's sorter keeps runs of about the main page cache's size in memory and sorts them in
 * helper threads when `threads` allows: runs of 4 MiB stay in the CPU's caches, and each core sorts its own. A
 * million records' merge on two cores: 12.4 s with the lookups' 64 MiB and no helper threads, 8.4 s with these.
 * Only while nothing else wants the cache: the identity number index, when kept, takes its inserts in random
 * order and keeps the lookups' cache.
 */
const SORT_THREADS = Math.min(4, os.availableParallelism());
const SORT_CACHE_KIB = 4096;

/** The index that is rebuilt after a large load: its definition as records-file.ts makes it. */
const IDCARD_INDEX = "CREATE INDEX IF NOT EXISTS records_idcard ON records(idcard_hash)";

/**
 * The loads of each connection, one at a time: they share its one staging table and its settings (mmap_size, and
 * for the merge threads and cache_size), so a second load beside the first would drop the first's staged rows, or
 * stage its own among them.
 */
const queues = new WeakMap<Database.Database, OneAtATime>();

export function loadRecords(
  db: Database.Database,
  batches: AsyncIterable<PackedRecords>,
  signal?: AbortSignal,
): Promise<{ loaded: number; replaced: number }> {
  let queue = queues.get(db);
  if (!queue) {
    queue = oneAtATime();
    queues.set(db, queue);
  }
  return queue(() => loadNow(db, batches), signal);
}

async function loadNow(db: Database.Database, batches: AsyncIterable<PackedRecords>): Promise<{ loaded: number; replaced: number }> {
  // The file's mapping would keep every page the merge writes resident: for the load, pages go through the
  // bounded page cache instead (the mapping is for the lookups' reads, and comes back after).
  const mapped = db.pragma("mmap_size", { simple: true });
  try {
    db.pragma("mmap_size = 0");
    // A temporary table lives and dies with this connection; one left by a load that failed is replaced (loads
    // on one connection queue, so none is staging in it).
    db.exec(`DROP TABLE IF EXISTS temp.import_staging;
      CREATE TEMP TABLE import_staging (n INTEGER PRIMARY KEY, rec BLOB NOT NULL)`);
    const stage = db.prepare<{ packed: Buffer; count: number }>(STAGE);
    let loaded = 0;
    for await (const batch of batches) {
      // STAGE's seed row is always there: an empty batch would stage one row of nothing
      if (batch.count === 0) continue;
      if (batch.packed.length < batch.count * PACKED_RECORD_BYTES) throw new Error("a packed batch is shorter than its count");
      stage.run({ packed: batch.packed.subarray(0, batch.count * PACKED_RECORD_BYTES), count: batch.count });
      loaded += batch.count;
    }
    const replaced = sorting(db, () => merge(db, loaded));
    return { loaded, replaced };
  } finally {
    db.pragma(`mmap_size = ${Number(mapped)}`);
    db.exec("DROP TABLE IF EXISTS temp.import_staging");
  }
}

/** Runs `work` with the sorter's helper threads allowed, and puts the connection's settings back after. */
function sorting<T>(db: Database.Database, work: () => T): T {
  const threads = db.pragma("threads", { simple: true });
  const cached = db.pragma("cache_size", { simple: true });
  try {
    db.pragma(`threads = ${SORT_THREADS}`);
    return work();
  } finally {
    db.pragma(`cache_size = ${Number(cached)}`);
    db.pragma(`threads = ${Number(threads)}`);
  }
}

/** The staged rows merged into the tables in one transaction; the phones replaced. */
function merge(db: Database.Database, loaded: number): number {
  const count = db.prepare<[], number>("SELECT count(*) FROM records").pluck();
  const sortCache = () => db.pragma(`cache_size = -${SORT_CACHE_KIB}`);
  return db
    .transaction(() => {
      const before = count.get() ?? 0;
      const rebuildIndex = loaded >= before / 4;
      if (rebuildIndex) {
        db.exec("DROP INDEX IF EXISTS records_idcard");
        sortCache();
      }
      db.exec(MERGE_RECORDS);
      sortCache();
      db.exec(MERGE_DIGESTS);
      if (rebuildIndex) db.exec(IDCARD_INDEX);
      // every loaded row either added a phone or replaced one (a phone twice in the file: its second replaced the first)
      return loaded - ((count.get() ?? 0) - before);
    })
    .immediate();
}
