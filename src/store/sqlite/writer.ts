/**
 * The embedded store's writer thread: ledger rows, their debits and audit entries are committed here, on a
 * connection of its own, so the request thread never waits on a commit (or on another process's write lock)
 * with its event loop stopped. WAL lets the request thread keep reading meanwhile.
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { AUDIT_COLUMNS, auditValues } from "../rows";
import type { AuditEntry, ChargeEntry } from "../model";

export interface WriterInit {
  file: string;
  sync: "normal" | "full";
}
/** One attempt counted against the daily caps of each key (keyed hashes only) */
export interface DailyAttempt {
  day: string;
  keys: readonly string[];
}
export interface WriteBatch {
  id: number;
  charges: ChargeEntry[];
  audits: AuditEntry[];
  daily: DailyAttempt[];
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
  const { file, sync } = workerData as WriterInit;
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
  db.pragma("busy_timeout = 10000");
  const insertCharge = db.prepare(
    "INSERT INTO ledger (request_id, account_id, secret_id, action, mode, unit_price, at, test, upstream_request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const debit = db.prepare("UPDATE accounts SET balance = balance - ? WHERE account_id = ?");
  const insertAudit = db.prepare(
    `INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (${AUDIT_COLUMNS.split(",")
      .map(() => "?")
      .join(", ")})`,
  );
  const ledgerValues = (e: ChargeEntry) =>
    [
      e.requestId,
      e.accountId,
      e.secretId,
      e.action,
      e.mode,
      e.unitPrice,
      e.at,
      Number(e.test === true),
      e.upstreamRequestId ?? null,
    ] as const;
  const writeCharge = (e: ChargeEntry) => {
    insertCharge.run(...ledgerValues(e));
    // A test key's charge is in the test ledger only: the balance is the account's real money.
    if (!e.test) debit.run(e.unitPrice, e.accountId);
  };
  const countAttempt = db.prepare("INSERT INTO daily_counts (day, key, n) VALUES (?, ?, 1) ON CONFLICT(day, key) DO UPDATE SET n = n + 1");
  const writeDaily = (a: DailyAttempt) => {
    for (const key of a.keys) countAttempt.run(a.day, key);
  };
  const writeAudit = (e: AuditEntry) => insertAudit.run(...auditValues(e));
  const all = db.transaction((charges: readonly ChargeEntry[], audits: readonly AuditEntry[], daily: readonly DailyAttempt[]) => {
    const debits = new Map<string, number>();
    for (const e of charges) {
      insertCharge.run(...ledgerValues(e));
      if (!e.test) debits.set(e.accountId, (debits.get(e.accountId) ?? 0) + e.unitPrice);
    }
    for (const [accountId, amount] of debits) debit.run(amount, accountId);
    for (const e of audits) writeAudit(e);
    for (const a of daily) writeDaily(a);
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
      db.close();
      port.close();
      return;
    }
    port.postMessage(commit(batch) satisfies WriteDone);
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
