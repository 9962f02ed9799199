/**
 * The journal of paid answers (../paid-journal.ts) as a SQLite file of its own, `paid-answers.db`, in the journal
 * directory. It is made at the first entry, never before: an instance whose store never failed and that never called
 * an upstream has no file. Each entry is committed with synchronous=FULL (fsynced) before add() returns. Worker
 * processes share the file (WAL).
 */
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import { type PaidEntry, type PaidJournal, paidEntryOf, paidEntryText } from "../paid-journal";

export const PAID_JOURNAL_FILE = "paid-answers.db";

interface Statements {
  insert: Database.Statement<[string, string, string, number]>;
  list: Database.Statement<[], { request_id: string; kind: string; entry: string }>;
  count: Database.Statement<[], number>;
  remove: Database.Statement<[string]>;
  removeSent: Database.Statement<[string]>;
}

export class SqlitePaidJournal implements PaidJournal {
  readonly location: string;
  private db: Database.Database | undefined;
  private stmt: Statements | undefined;
  /** entries reported as damaged already (each is reported once, not at every replay) */
  private readonly damaged = new Set<string>();

  constructor(
    private readonly dir: string,
    /** an entry that cannot be read back */
    private readonly onDamaged: (err: unknown) => void,
  ) {
    this.location = path.join(dir, PAID_JOURNAL_FILE);
  }

  /** The open journal; `create`: made when missing (else undefined while no file exists). */
  private open(create: boolean): Statements | undefined {
    if (this.stmt) return this.stmt;
    if (!create && !fs.existsSync(this.location)) return undefined;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const db = new Database(this.location);
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("busy_timeout = 2000");
      db.exec(
        "CREATE TABLE IF NOT EXISTS paid_answers (request_id TEXT PRIMARY KEY, kind TEXT NOT NULL, entry TEXT NOT NULL, at INTEGER NOT NULL)",
      );
      this.stmt = {
        // A charge or unknown entry takes the place of the call's `sent` entry; a RequestId is otherwise kept once.
        insert: db.prepare(
          "INSERT INTO paid_answers (request_id, kind, entry, at) VALUES (?, ?, ?, ?) ON CONFLICT (request_id) DO UPDATE " +
            "SET kind = excluded.kind, entry = excluded.entry, at = excluded.at WHERE paid_answers.kind = 'sent' AND excluded.kind <> 'sent'",
        ),
        list: db.prepare("SELECT request_id, kind, entry FROM paid_answers ORDER BY at, request_id"),
        count: db.prepare<[], number>("SELECT count(*) FROM paid_answers WHERE kind <> 'sent'").pluck(),
        remove: db.prepare("DELETE FROM paid_answers WHERE request_id = ?"),
        removeSent: db.prepare("DELETE FROM paid_answers WHERE request_id = ? AND kind = 'sent'"),
      };
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    return this.stmt;
  }

  add(paid: PaidEntry): void {
    const stmt = this.open(true);
    if (!stmt) throw new Error(`the journal ${this.location} could not be opened`);
    stmt.insert.run(paid.entry.requestId, paid.kind, paidEntryText(paid), paid.entry.at);
  }

  list(): PaidEntry[] {
    const rows = this.open(false)?.list.all() ?? [];
    const entries: PaidEntry[] = [];
    for (const row of rows) {
      try {
        entries.push(paidEntryOf(row.kind, row.entry));
      } catch (err) {
        if (this.damaged.has(row.request_id)) continue;
        this.damaged.add(row.request_id);
        this.onDamaged(err);
      }
    }
    return entries;
  }

  count(): number {
    return this.open(false)?.count.get() ?? 0;
  }

  remove(requestId: string): void {
    this.open(false)?.remove.run(requestId);
  }

  removeSent(requestId: string): void {
    const stmt = this.open(false);
    const db = this.db;
    if (!stmt || !db) return;
    // Not synced: the one fsync of a call is its `sent` entry's. A power cut may bring the entry back, and the next
    // start then lists a call that ended as unknown, unless the ledger holds its charge (paid-replay.ts).
    db.pragma("synchronous = NORMAL");
    try {
      stmt.removeSent.run(requestId);
    } finally {
      db.pragma("synchronous = FULL");
    }
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
    this.stmt = undefined;
  }
}
