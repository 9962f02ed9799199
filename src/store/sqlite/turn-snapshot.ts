/**
 * The request path's reads of records.db, on a connection that only reads, share one read transaction per turn of
 * the event loop (at most READS_PER_SNAPSHOT reads). An autocommit read takes and drops SQLite's WAL read lock each
 * time (two fcntl calls and an fstat), about as long as the B-tree search itself: record lookups took 18 µs each
 * alone and 10 µs in groups of 10 (200,000 records, 2 shared vCPU). Imports write on another connection; a turn that
 * began before an import's commit still reads the records as they were, the next one reads the new ones.
 */
import Database from "better-sqlite3";

const READS_PER_SNAPSHOT = 64;

export class TurnSnapshot {
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private reads = 0;
  private scheduled = false;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare("BEGIN");
    this.commit = db.prepare("COMMIT");
  }

  read<T>(query: () => T): T {
    if (this.reads >= READS_PER_SNAPSHOT) this.end();
    if (!this.db.inTransaction) {
      this.begin.run();
      this.reads = 0;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.endOfTurn);
      }
    }
    this.reads++;
    return query();
  }

  private readonly endOfTurn = () => {
    this.scheduled = false;
    this.end();
  };

  private end(): void {
    if (this.db.open && this.db.inTransaction) this.commit.run();
  }
}

/** records.db opened for reading only, cached and mapped as the connection that writes it. */
export function openRecordsReader(file: string): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma("cache_size = -65536");
  db.pragma("mmap_size = 17179869184");
  return db;
}
