/**
 * Subscriber records live in a SQLite file of their own (records.db). A connection drops its whole page cache
 * whenever another connection has written to its file, and the writer thread commits to sanyao.db many times a
 * second: in one file, every record lookup would read its pages afresh (about 30 µs instead of 6 µs here).
 * Only imports write records.db, so its pages stay cached between requests.
 */
import Database from "better-sqlite3";
import path from "node:path";
import { LEAST_CACHE_BYTES, SQLITE_MAP_MOST_BYTES } from "./limits";

export const RECORDS_FILE = "records.db";

/** records.db's own schema steps, by version (its user_version). */
const STEPS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS records (
        phone_hash BLOB PRIMARY KEY,
        name_hash BLOB NOT NULL,
        idcard_hash BLOB NOT NULL,
        carrier TEXT NOT NULL,
        status TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS records_idcard ON records(idcard_hash);
    `,
  },
  {
    // MobileStatus and MobileNetworkTimeVerification (faceid-family.md §7.12)
    version: 2,
    sql: `
      ALTER TABLE records ADD COLUMN line_status TEXT;
      ALTER TABLE records ADD COLUMN network_since TEXT;
    `,
  },
  {
    // EncryptedPhoneVerification (faceid-family.md §7.3): keyed hashes of digests, three per record. Records
    // imported before this step have none (only keyed hashes of the values are kept): re-import them.
    version: 3,
    sql: `
      CREATE TABLE IF NOT EXISTS record_digests (
        digest_key BLOB PRIMARY KEY,
        phone_hash BLOB NOT NULL,
        pair_hash BLOB NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    // Cloudauth's Mobile2MetaVerify in md5 mode (migration 17): the md5 row's keyed hash of the name's digest alone.
    // Rows imported before this step have none: their numbers answer as not on record until imported again.
    version: 4,
    sql: "ALTER TABLE record_digests ADD COLUMN name_digest BLOB;",
  },
];

export function openRecordsFile(dataDir: string, main: Database.Database): Database.Database {
  const file = path.join(dataDir, RECORDS_FILE);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  // A large record set stays in memory: 64 MiB of page cache and as much of the file mapped as SQLite maps.
  db.pragma(`cache_size = ${-(LEAST_CACHE_BYTES >> 10)}`);
  db.pragma(`mmap_size = ${SQLITE_MAP_MOST_BYTES}`);
  const current = db.pragma("user_version", { simple: true }) as number;
  for (const step of STEPS) {
    if (step.version <= current) continue;
    db.transaction(() => {
      db.exec(step.sql);
      db.pragma(`user_version = ${step.version}`);
    }).immediate();
  }
  moveRecordsOut(main, file);
  return db;
}

/**
 * Installations from before records.db kept their records in sanyao.db: copy them over, then drop them there.
 * Each file commits on its own; a crash between the two leaves them in both, and the next start copies again.
 */
function moveRecordsOut(main: Database.Database, file: string): void {
  const present = main.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").get();
  if (!present) return;
  main.prepare("ATTACH DATABASE ? AS moved").run(file);
  try {
    const columns = "phone_hash, name_hash, idcard_hash, carrier, status";
    main.exec(`INSERT OR REPLACE INTO moved.records (${columns}) SELECT ${columns} FROM main.records`);
    main.exec("DROP TABLE main.records");
  } finally {
    main.exec("DETACH DATABASE moved");
  }
}

/**
 * records.db opened for reading only, caching up to `cacheBytes` (records-cache.ts) and mapping `mapBytes` of it (by
 * default as much as SQLite maps; the settings give whole MiB, 2047 by default, under 1 MiB less).
 */
export function openRecordsReader(file: string, cacheBytes: number, mapBytes = SQLITE_MAP_MOST_BYTES): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  // as the connection that writes it: another process recovering the WAL after a crash is waited for, not an error
  db.pragma("busy_timeout = 5000");
  db.pragma(`cache_size = ${-Math.floor(cacheBytes / 1024)}`);
  db.pragma(`mmap_size = ${Math.max(0, Math.floor(mapBytes))}`);
  return db;
}
