/**
 * The embedded store's writer thread: ledger rows, their debits and audit entries are committed here, on a
 * connection of its own, so the request thread never waits on a commit (or on another process's write lock)
 * with its event loop stopped. WAL lets the request thread keep reading meanwhile.
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import type { AuditEntry, ChargeEntry } from "./contract";

export interface WriterInit {
  file: string;
  sync: "normal" | "full";
}
export interface WriteBatch {
  id: number;
  charges: ChargeEntry[];
  audits: AuditEntry[];
}
export interface WriteDone {
  id: number;
  error?: string;
}

if (parentPort) {
  const { file, sync } = workerData as WriterInit;
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
  db.pragma("busy_timeout = 10000");
  const insertCharge = db.prepare(
    "INSERT INTO ledger (request_id, account_id, secret_id, action, mode, unit_price, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const debit = db.prepare("UPDATE accounts SET balance = balance - ? WHERE account_id = ?");
  const insertAudit = db.prepare(
    `INSERT INTO audit (at, request_id, account_id, secret_id, action, code, mode, phone_masked, latency_us)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const commit = db.transaction((charges: readonly ChargeEntry[], audits: readonly AuditEntry[]) => {
    const debits = new Map<string, number>();
    for (const e of charges) {
      insertCharge.run(e.requestId, e.accountId, e.secretId, e.action, e.mode, e.unitPrice, e.at);
      debits.set(e.accountId, (debits.get(e.accountId) ?? 0) + e.unitPrice);
    }
    for (const [accountId, amount] of debits) debit.run(amount, accountId);
    for (const e of audits) {
      insertAudit.run(e.at, e.requestId, e.accountId ?? null, e.secretId ?? null, e.action ?? null, e.code,
        e.mode ?? null, e.phoneMasked ?? null, e.latencyUs);
    }
  }).immediate;
  const port = parentPort;
  port.on("message", (batch: WriteBatch | "close") => {
    if (batch === "close") {
      db.close();
      port.close();
      return;
    }
    let error: string | undefined;
    try {
      commit(batch.charges, batch.audits);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    port.postMessage({ id: batch.id, error } satisfies WriteDone);
  });
}
