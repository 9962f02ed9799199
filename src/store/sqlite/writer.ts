/**
 * The embedded store's writer thread: ledger rows, their debits and audit entries are committed here, on a
 * connection of its own, so the request thread never waits on a commit (or on another process's write lock)
 * with its event loop stopped. WAL lets the request thread keep reading meanwhile.
 */
import Database from "better-sqlite3";
import path from "node:path";
import { parentPort, Worker, workerData } from "node:worker_threads";
import type { CheckpointerInit } from "./checkpointer";
import { AUDIT_COLUMNS, type auditValues } from "../rows";
import { COUNT_ATTEMPTS } from "./daily-log";

/** WAL pages past which this thread checkpoints in its own commit (about 40 MiB; SQLite's default is 1,000) */
export const WAL_PAGES_AT_MOST = 10_000;
const SQLITE_DEFAULT_WAL_PAGES = 1_000;

export interface WriterInit {
  file: string;
  /** other files the checkpointer keeps (records.db) */
  checkpointAlso: readonly string[];
  sync: "normal" | "full";
}
/** One attempt counted against the daily caps of each key (keyed hashes only) */
export interface DailyAttempt {
  day: string;
  keys: readonly string[];
}
/**
 * What crosses to the thread: each row as its statement's values. Arrays of strings and numbers are cloned for a
 * fraction of what objects cost (no property names to write, read and intern again per row).
 */
export type LedgerRow = readonly [
  requestId: string,
  accountId: string,
  secretId: string,
  action: string,
  mode: string,
  unitPrice: number,
  at: number,
  /** 1: a test key's charge (test ledger only, no debit) */
  test: 0 | 1,
  upstreamRequestId: string | null,
];
export type AuditRow = ReturnType<typeof auditValues>;
/** the day, then each key counted once */
export type DailyRow = readonly [day: string, ...keys: string[]];
export interface WriteBatch {
  id: number;
  charges: LedgerRow[];
  audits: AuditRow[];
  daily: DailyRow[];
}
export interface WriteDone {
  id: number;
  /** indexes of the charges that could not be written (each rolled back alone; the others are committed) */
  failedCharges: number[];
  /** audit entries and daily attempts not written */
  failedQueued: number;
  /** the first failure's message */
  error?: string;
}

if (parentPort) {
  const { file, sync, checkpointAlso } = workerData as WriterInit;
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
  db.pragma("busy_timeout = 10000");
  const checkpoints = checkpointsElsewhere(db, [file, ...checkpointAlso]);
  const insertCharge = db.prepare(
    "INSERT INTO ledger (request_id, account_id, secret_id, action, mode, unit_price, at, test, upstream_request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const debit = db.prepare("UPDATE accounts SET balance = balance - ? WHERE account_id = ?");
  const insertAudit = db.prepare(
    `INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (${AUDIT_COLUMNS.split(",")
      .map(() => "?")
      .join(", ")})`,
  );
  const writeCharge = (row: LedgerRow) => {
    insertCharge.run(...row);
    // A test key's charge is in the test ledger only: the balance is the account's real money.
    if (row[7] === 0) debit.run(row[5], row[1]);
  };
  const countAttempts = db.prepare(COUNT_ATTEMPTS);
  const writeDaily = (row: DailyRow) => {
    for (const [day, key, n] of coalesced([row])) countAttempts.run(day, key, n);
  };
  const writeAudit = (row: AuditRow) => insertAudit.run(...row);
  const all = db.transaction((charges: readonly LedgerRow[], audits: readonly AuditRow[], daily: readonly DailyRow[]) => {
    const debits = new Map<string, number>();
    for (const row of charges) {
      insertCharge.run(...row);
      if (row[7] === 0) debits.set(row[1], (debits.get(row[1]) ?? 0) + row[5]);
    }
    for (const [accountId, amount] of debits) debit.run(amount, accountId);
    for (const e of audits) writeAudit(e);
    for (const [day, key, n] of coalesced(daily)) countAttempts.run(day, key, n);
  }).immediate;
  const one = <T>(write: (item: T) => void) => db.transaction(write).immediate;
  const oneCharge = one(writeCharge);
  const oneAudit = one(writeAudit);
  const oneDaily = one(writeDaily);

  /** One transaction for the batch; if it fails, each row alone, so one bad row costs only its own request. */
  const commit = (batch: WriteBatch): WriteDone => {
    try {
      all(batch.charges, batch.audits, batch.daily);
      return { id: batch.id, failedCharges: [], failedQueued: 0 };
    } catch (first) {
      const done: WriteDone = { id: batch.id, failedCharges: [], failedQueued: 0, error: message(first) };
      batch.charges.forEach((e, i) => {
        try {
          oneCharge(e);
        } catch {
          done.failedCharges.push(i);
        }
      });
      const each = <T>(rows: readonly T[], write: (row: T) => void) => {
        for (const row of rows) {
          try {
            write(row);
          } catch {
            done.failedQueued++;
          }
        }
      };
      each(batch.audits, oneAudit);
      each(batch.daily, oneDaily);
      return done;
    }
  };
  const port = parentPort;
  port.on("message", (batch: WriteBatch | "close") => {
    if (batch === "close") {
      void checkpoints.close().finally(() => {
        db.close();
        port.close();
      });
      return;
    }
    port.postMessage(commit(batch) satisfies WriteDone);
  });
}

/**
 * Checkpoints on the checkpointer's thread (checkpointer.ts), not in this thread's commits. It copies pages while
 * this thread goes on writing, and the WAL starts over once a copy completes between two commits; under a load that
 * leaves no such moment, this thread checkpoints itself past WAL_PAGES_AT_MOST, so the WAL stays bounded. Should the
 * checkpointer stop, this thread checkpoints as SQLite does by default.
 */
function checkpointsElsewhere(db: Database.Database, files: readonly string[]): { close(): Promise<void> } {
  db.pragma(`wal_autocheckpoint = ${WAL_PAGES_AT_MOST}`);
  const checkpointer = new Worker(path.join(__dirname, "checkpointer.js"), { workerData: { files } satisfies CheckpointerInit });
  const exited = new Promise<void>((resolve) => checkpointer.once("exit", () => resolve()));
  checkpointer.on("error", () => undefined); // its exit hands checkpoints back, below
  let closing = false;
  void exited.then(() => {
    if (!closing && db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_WAL_PAGES}`);
  });
  return {
    close() {
      closing = true;
      checkpointer.postMessage("close");
      return exited;
    },
  };
}

/**
 * A batch's attempts as one count per day and key, in key order: a number asked twice in one commit is one upsert,
 * and the upserts walk the counts' B-tree from left to right.
 */
function coalesced(daily: readonly DailyRow[]): Array<[day: string, key: string, n: number]> {
  const counts = new Map<string, [day: string, key: string, n: number]>();
  for (const row of daily) {
    const day = row[0];
    for (let i = 1; i < row.length; i++) {
      const key = row[i];
      if (key === undefined) continue;
      const id = `${day}\u0000${key}`;
      const entry = counts.get(id);
      if (entry) entry[2]++;
      else counts.set(id, [day, key, 1]);
    }
  }
  // JavaScript compares UTF-16 code units, SQLite's BINARY collation bytes: the same order for these ASCII keys.
  return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
