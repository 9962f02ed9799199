/**
 * The embedded store's WAL checkpoints, on a thread of their own (started by the writer thread, writer.ts). SQLite
 * checkpoints by default inside the commit that grows the WAL past 1,000 pages: that commit copies the pages into
 * the database file and waits for its fsync, and every request of the next group commit waits behind it (commits of
 * 9–21 ms at the 99th percentile, `npm run bench:writer`). A PASSIVE checkpoint on another connection takes no write
 * lock: the writer goes on appending to the WAL while the pages are copied, and starts it over once all are.
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";

export interface CheckpointerInit {
  /** sanyao.db, and records.db: the request thread's read snapshots (turn-snapshot.ts) can keep an importer's own
   * checkpoint from copying its pages, and nothing else on the server writes records.db to checkpoint it again */
  files: readonly string[];
}

/** how often the WAL is copied back into the database file */
export const CHECKPOINT_EVERY_MS = 100;

if (parentPort) {
  const { files } = workerData as CheckpointerInit;
  const dbs = files.map((file) => {
    const db = new Database(file);
    db.pragma("busy_timeout = 10000");
    return db;
  });
  const checkpoint = () => {
    for (const db of dbs) {
      try {
        db.pragma("wal_checkpoint(PASSIVE)");
      } catch {
        // tried again at the next tick (an I/O error, a full disk); the writer's own bound holds meanwhile
      }
    }
  };
  const timer = setInterval(checkpoint, CHECKPOINT_EVERY_MS);
  const port = parentPort;
  port.on("message", (message: unknown) => {
    if (message !== "close") return;
    clearInterval(timer);
    checkpoint();
    for (const db of dbs) db.close();
    port.close();
  });
}
