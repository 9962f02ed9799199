/**
 * The request thread's handle on the writer thread (writer.ts): one batch out, one acknowledgement back.
 * A thread that has stopped fails every commit at once, pending and later ones alike: nothing waits on it.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { AuditEntry, ChargeEntry } from "../model";
import { auditValues } from "../rows";
import type { DailyAttempt, DailyRow, LedgerRow, WriteBatch, WriteDone, WriterInit } from "./writer";

function ledgerRow(e: ChargeEntry): LedgerRow {
  return [e.requestId, e.accountId, e.secretId, e.action, e.mode, e.unitPrice, e.at, e.test === true ? 1 : 0, e.upstreamRequestId ?? null];
}

const dailyRow = (a: DailyAttempt): DailyRow => [a.day, ...a.keys];

export class WriterThread {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (done: WriteDone) => void; reject: (err: Error) => void }>();
  private exited = false;
  private readonly exit: Promise<void>;

  /** `onStop` hears of a thread that stopped without being closed */
  constructor(init: WriterInit, onStop: (err: Error) => void) {
    this.worker = new Worker(path.join(__dirname, "writer.js"), { workerData: init });
    this.worker.on("message", (done: WriteDone) => {
      const p = this.pending.get(done.id);
      this.pending.delete(done.id);
      p?.resolve(done);
      if (this.pending.size === 0) this.worker.unref();
    });
    let failure: Error | undefined;
    this.worker.on("error", (err) => (failure = err));
    this.exit = new Promise((resolve) =>
      this.worker.once("exit", (code) => {
        this.exited = true;
        const err = failure ?? new Error(`the writer thread stopped (exit code ${code})`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (!this.closing) onStop(err);
        resolve();
      }),
    );
    // Only work in progress keeps the process alive; an idle writer does not hold a finished command open.
    this.worker.unref();
  }

  private closing = false;

  get running(): boolean {
    return !this.exited;
  }

  commit(charges: ChargeEntry[], audits: AuditEntry[], daily: DailyAttempt[]): Promise<WriteDone> {
    if (this.exited) return Promise.reject(new Error("the writer thread is down"));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      const batch: WriteBatch = { id, charges: charges.map(ledgerRow), audits: audits.map(auditValues), daily: daily.map(dailyRow) };
      this.worker.postMessage(batch);
    });
  }

  /** Stops the thread at once, as a crash would: what it had not committed fails. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
    await this.exit;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.exited) return;
    this.worker.ref(); // until it has closed the database
    this.worker.postMessage("close");
    await this.exit;
  }
}
