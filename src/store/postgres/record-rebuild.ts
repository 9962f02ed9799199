/**
 * The large load's merge on PostgreSQL (record-load.ts): when the load is large beside the tables, records and
 * record_digests are written afresh into new tables without indexes (the loaded rows, then the old rows the load
 * does not replace), their indexes are built by sorting, and the new tables take the old ones' names. Row by row,
 * an upsert into indexed tables costs a random index insert and its WAL per row (about a minute for a million
 * records and their three million digest rows on a small machine); this costs a sequential write and a sort per
 * index. All of it runs in the load's transaction: until it commits, readers read the old tables, and a failure or
 * a kill leaves them as they were. Only the swap at the end takes the tables from readers, until the commit.
 *
 * A file names each phone once, as a rule: the rows go in unsorted and the primary keys' builds prove it. When
 * one does not (a phone twice: its last row wins), the build fails, is rolled back to its savepoint, and the rows
 * go in again through DISTINCT ON, which sorts.
 */

const COLUMNS = "phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since";
const DIGEST_COLUMNS = "digest_key, phone_hash, pair_hash, name_digest";

/** `staged` and `stagedDigests` are the loaded rows (with `n`, the order read) as record-load.ts takes them apart. */
function fill(staged: string, stagedDigests: string, everyPhoneOnce: boolean): string[] {
  const records = everyPhoneOnce
    ? `SELECT ${COLUMNS} FROM (${staged}) AS staged`
    : `SELECT DISTINCT ON (phone_hash) ${COLUMNS} FROM (${staged}) AS staged ORDER BY phone_hash, n DESC`;
  const digests = everyPhoneOnce
    ? `SELECT ${DIGEST_COLUMNS} FROM (${stagedDigests}) AS staged`
    : `SELECT DISTINCT ON (digest_key) ${DIGEST_COLUMNS} FROM (${stagedDigests}) AS staged ORDER BY digest_key, n DESC`;
  return [
    "CREATE TABLE records_load (LIKE records INCLUDING DEFAULTS INCLUDING STORAGE)",
    `INSERT INTO records_load (${COLUMNS}) ${records}`,
    // the old rows the load leaves: the NOT EXISTS probes a hash of the loaded keys
    `INSERT INTO records_load (${COLUMNS}) SELECT ${COLUMNS} FROM records r
     WHERE NOT EXISTS (SELECT 1 FROM records_load l WHERE l.phone_hash = r.phone_hash)`,
    "ALTER TABLE records_load ADD CONSTRAINT records_load_pkey PRIMARY KEY (phone_hash)",
    "CREATE TABLE record_digests_load (LIKE record_digests INCLUDING DEFAULTS INCLUDING STORAGE)",
    `INSERT INTO record_digests_load (${DIGEST_COLUMNS}) ${digests}`,
    `INSERT INTO record_digests_load (${DIGEST_COLUMNS}) SELECT ${DIGEST_COLUMNS} FROM record_digests d
     WHERE NOT EXISTS (SELECT 1 FROM record_digests_load l WHERE l.digest_key = d.digest_key)`,
    "ALTER TABLE record_digests_load ADD CONSTRAINT record_digests_load_pkey PRIMARY KEY (digest_key)",
  ];
}

export interface Rebuild {
  /** a reader's lookups go on against the old tables; another writer waits (the load reads all of both) */
  lock: string;
  /** run in a savepoint: a unique violation means a phone came twice, and `sorted` is run instead */
  unsorted: string[];
  sorted: string[];
  /** the second index, statistics, and the swap (names as the migrations made them) */
  finish: string[];
}

export function rebuildStatements(staged: string, stagedDigests: string): Rebuild {
  return {
    lock: "LOCK TABLE record_digests IN SHARE ROW EXCLUSIVE MODE",
    unsorted: fill(staged, stagedDigests, true),
    sorted: fill(staged, stagedDigests, false),
    finish: [
      "CREATE INDEX records_load_idcard ON records_load(idcard_hash)",
      "ANALYZE records_load",
      "ANALYZE record_digests_load",
      "DROP TABLE records",
      "DROP TABLE record_digests",
      "ALTER TABLE records_load RENAME TO records",
      "ALTER INDEX records_load_pkey RENAME TO records_pkey",
      "ALTER INDEX records_load_idcard RENAME TO records_idcard",
      "ALTER TABLE record_digests_load RENAME TO record_digests",
      "ALTER INDEX record_digests_load_pkey RENAME TO record_digests_pkey",
    ],
  };
}
