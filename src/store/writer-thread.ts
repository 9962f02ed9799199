/** The request thread's handle on the writer thread (sqlite-writer.ts): one batch out, one acknowledgement back. */
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { AuditEntry, ChargeEntry } from "./contract";
import type { WriteDone, WriterInit } from "./sqlite-writer";

export class WriterThread {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  constructor(init: WriterInit) {
    this.worker = new Worker(path.join(__dirname, "sqlite-writer.js"), { workerData: init });
    this.worker.on("message", (done: WriteDone) => {
      const p = this.pending.get(done.id);
      this.pending.delete(done.id);
      if (done.error) p?.reject(new Error(done.error));
      else p?.resolve();
      if (this.pending.size === 0) this.worker.unref();
    });
    this.worker.on("error", (err) => this.failAll(err));
    this.worker.on("exit", () => this.failAll(new Error("the writer thread stopped")));
    // Only work in progress keeps the process alive; an idle writer does not hold a finished command open.
    this.worker.unref();
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  commit(charges: ChargeEntry[], audits: AuditEntry[]): Promise<void> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, charges, audits });
    });
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.ref(); // until it has closed the database
    this.worker.postMessage("close");
    await exited;
  }
}
