/**
 * The large load's merge on PostgreSQL (record-load.ts): when the load is large beside the tables, records and
 * record_digests are written afresh into new tables without indexes (the loaded rows, then the old rows the load
 * does not replace), their indexes are built by sorting, and the new tables take the old ones' names. Row by row,
 * an upsert into indexed tables costs a random index insert and its WAL per row (about a minute for a million
 * records and their three million digest rows on a small machine); this costs a sequential write and a sort per
 * index.
 *
 * The two tables, each with its indexes and statistics, are built at once on two connections (PostgreSQL runs a
 * statement on one core): the records in the load's transaction, the digests in a transaction of their own, which
 * commits the new table under a name nothing reads. Only the load's transaction swaps both in, so until it commits
 * readers read the old tables, and a failure or a kill leaves them as they were (the next load drops what a killed
 * one left, record-load.ts).
 *
 * A file names each phone once, as a rule: the rows go in unsorted and the primary keys' builds prove it. When
 * one does not (a phone twice: its last row wins), the build fails, is rolled back, and the rows go in again
 * through DISTINCT ON, which sorts.
 */

/** the digests' new table: committed by its own connection, so a load killed before its swap can leave it behind */
export const DIGESTS_LOAD = "record_digests_load";

const COLUMNS = "phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since";
const DIGEST_COLUMNS = "digest_key, phone_hash, pair_hash, name_digest";

function fillRecords(staged: string, everyPhoneOnce: boolean): string[] {
  const records = everyPhoneOnce
    ? `SELECT ${COLUMNS} FROM (${staged}) AS staged`
    : `SELECT DISTINCT ON (phone_hash) ${COLUMNS} FROM (${staged}) AS staged ORDER BY phone_hash, n DESC`;
  return [
    "CREATE TABLE records_load (LIKE records INCLUDING DEFAULTS INCLUDING STORAGE)",
    `INSERT INTO records_load (${COLUMNS}) ${records}`,
    // the old rows the load leaves: the NOT EXISTS probes a hash of the loaded keys
    `INSERT INTO records_load (${COLUMNS}) SELECT ${COLUMNS} FROM records r
     WHERE NOT EXISTS (SELECT 1 FROM records_load l WHERE l.phone_hash = r.phone_hash)`,
    "ALTER TABLE records_load ADD CONSTRAINT records_load_pkey PRIMARY KEY (phone_hash)",
    "CREATE INDEX records_load_idcard ON records_load(idcard_hash)",
    "ANALYZE records_load",
  ];
}

function fillDigests(stagedDigests: string, everyPhoneOnce: boolean): string[] {
  const digests = everyPhoneOnce
    ? `SELECT ${DIGEST_COLUMNS} FROM (${stagedDigests}) AS staged`
    : `SELECT DISTINCT ON (digest_key) ${DIGEST_COLUMNS} FROM (${stagedDigests}) AS staged ORDER BY digest_key, n DESC`;
  return [
    `CREATE TABLE ${DIGESTS_LOAD} (LIKE record_digests INCLUDING DEFAULTS INCLUDING STORAGE)`,
    `INSERT INTO ${DIGESTS_LOAD} (${DIGEST_COLUMNS}) ${digests}`,
    `INSERT INTO ${DIGESTS_LOAD} (${DIGEST_COLUMNS}) SELECT ${DIGEST_COLUMNS} FROM record_digests d
     WHERE NOT EXISTS (SELECT 1 FROM ${DIGESTS_LOAD} l WHERE l.digest_key = d.digest_key)`,
    `ALTER TABLE ${DIGESTS_LOAD} ADD CONSTRAINT ${DIGESTS_LOAD}_pkey PRIMARY KEY (digest_key)`,
    `ANALYZE ${DIGESTS_LOAD}`,
  ];
}

/** One table's build: run as it is; should a unique violation show a phone twice, rolled back and `sorted` run instead. */
export interface TableBuild {
  unsorted: string[];
  sorted: string[];
}

export interface Rebuild {
  /** a reader's lookups go on against the old tables; another writer waits (the load reads all of both) */
  lock: string;
  /** in the load's transaction */
  records: TableBuild;
  /** in a transaction of its own, on a second connection, at the same time as `records` (or, without one, after it) */
  digests: TableBuild;
  /** in the load's transaction, once both are built: the swap */
  finish: string[];
}

/** `staged` and `stagedDigests` are the loaded rows (with `n`, the order read) as record-load.ts takes them apart. */
export function rebuildStatements(staged: string, stagedDigests: string): Rebuild {
  return {
    // records' own lock is the load's (record-load.ts), taken before it counts them
    lock: "LOCK TABLE record_digests IN SHARE ROW EXCLUSIVE MODE",
    records: { unsorted: fillRecords(staged, true), sorted: fillRecords(staged, false) },
    digests: { unsorted: fillDigests(stagedDigests, true), sorted: fillDigests(stagedDigests, false) },
    finish: [
      // committed, so others see it (autovacuum among them): taken first, so the swap never waits with the old
      // tables already taken from the readers
      `LOCK TABLE ${DIGESTS_LOAD} IN ACCESS EXCLUSIVE MODE`,
      // both old tables at once, in the order a lookup by digest takes them (record_digests, then records): dropped
      // one by one, the first drop could hold records while such a lookup held record_digests, a deadlock
      "LOCK TABLE record_digests, records IN ACCESS EXCLUSIVE MODE",
      "DROP TABLE records",
      "DROP TABLE record_digests",
      "ALTER TABLE records_load RENAME TO records",
      "ALTER INDEX records_load_pkey RENAME TO records_pkey",
      "ALTER INDEX records_load_idcard RENAME TO records_idcard",
      `ALTER TABLE ${DIGESTS_LOAD} RENAME TO record_digests`,
      `ALTER INDEX ${DIGESTS_LOAD}_pkey RENAME TO record_digests_pkey`,
    ],
  };
}
