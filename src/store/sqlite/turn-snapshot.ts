/**
 * The request path's reads of records.db, on a connection that only reads, share one read transaction: from a turn's
 * first read until the event loop's next check phase, for at most SNAPSHOT_READS reads and SNAPSHOT_MS. An autocommit
 * read takes and drops SQLite's WAL read lock each time (two fcntl calls and an fstat), about as long as the B-tree
 * search itself: record lookups took 18 µs each alone and 10 µs in groups of 10 (200,000 records, 2 shared vCPU).
 * Imports write on another connection (or process); reads within a millisecond of an import's commit may still see
 * the records as they were, later ones see the new ones. The checkpointer thread copies records.db's WAL back, which
 * a snapshot held at an importer's commit keeps that importer's own checkpoint from doing.
 */
import type Database from "better-sqlite3";

const SNAPSHOT_READS = 64;
const SNAPSHOT_MS = 1;

export class TurnSnapshot {
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private reads = 0;
  private startedAt = 0;
  private scheduled = false;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare("BEGIN");
    this.commit = db.prepare("COMMIT");
  }

  read<T>(query: () => T): T {
    if (this.reads >= SNAPSHOT_READS || performance.now() - this.startedAt > SNAPSHOT_MS) this.end();
    if (!this.db.inTransaction) {
      this.begin.run();
      this.reads = 0;
      this.startedAt = performance.now();
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
