/**
 * Subscriber records live in a SQLite file of their own (records.db). A connection drops its whole page cache
 * whenever another connection has written to its file, and the writer thread commits to sanyao.db many times a
 * second: in one file, every record lookup would read its pages afresh (about 30 µs instead of 6 µs here).
 * Only imports write records.db, so its pages stay cached between requests.
 */
import Database from "better-sqlite3";
import path from "node:path";

export const RECORDS_FILE = "records.db";

const SCHEMA_VERSION = 1;

export function openRecordsFile(dataDir: string, main: Database.Database): Database.Database {
  const file = path.join(dataDir, RECORDS_FILE);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  // A large record set stays in memory: 64 MiB of page cache and the file mapped (SQLite caps the mapping).
  db.pragma("cache_size = -65536");
  db.pragma("mmap_size = 17179869184");
  if ((db.pragma("user_version", { simple: true }) as number) < SCHEMA_VERSION) {
    db.transaction(() => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS records (
          phone_hash BLOB PRIMARY KEY,
          name_hash BLOB NOT NULL,
          idcard_hash BLOB NOT NULL,
          carrier TEXT NOT NULL,
          status TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS records_idcard ON records(idcard_hash);
      `);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
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
    main.exec("INSERT OR REPLACE INTO moved.records SELECT * FROM main.records");
    main.exec("DROP TABLE main.records");
  } finally {
    main.exec("DETACH DATABASE moved");
  }
}
