/**
 * What the embedded store's writer thread (src/store/sqlite/writer.ts) costs per request, and how long each group
 * commit keeps the next one waiting. Drives the real thread with batches shaped like the load benchmark's: 24
 * requests a commit (what the group commit gathered at saturation, measured), each a charge, an audit entry and two
 * daily-cap attempts (number and identity number), in two regimes:
 *
 * - repeated: the load benchmark's 4,000 people, over and over;
 * - distinct: a new person each request, into a day that already counts 400,000 numbers.
 *
 *   npm run bench:writer [-- --server-root DIR]   (DIR: another checkout, built, to measure its writer alike)
 *
 * CPU is the process's (the writer thread, and the main thread posting batches and waiting), per request.
 */
import { Command } from "commander";
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { newRequestId } from "../src/api3/request-id";
import { packageRoot } from "../src/common/paths";
import { SqliteStore, DATABASE_FILE } from "../src/store/sqlite/store";
import type { AuditRow, DailyRow, LedgerRow, WriteBatch, WriterInit } from "../src/store/sqlite/writer";

const PER_COMMIT = 24;
const REQUESTS = 96_000;
const DAY = "20261207";
const ACCOUNT = "100000000001";
const SECRET_ID = "AKIDbenchwriter0000000000000000000000";

interface Regime {
  name: string;
  people: number;
  countsBefore: number;
}
const REGIMES: readonly Regime[] = [
  { name: "repeated (4,000 people)", people: 4_000, countsBefore: 0 },
  { name: "distinct (a new person each, 400,000 counts in the day)", people: REQUESTS, countsBefore: 400_000 },
];

const capKey = (field: string) => `${ACCOUNT}:${field}:${randomBytes(32).toString("base64url")}`;

async function prepared(dir: string, countsBefore: number): Promise<string> {
  const store = new SqliteStore(dir, () => undefined);
  await store.close();
  const file = path.join(dir, DATABASE_FILE);
  const db = new Database(file);
  db.prepare("INSERT INTO accounts (account_id, name, created_at, balance) VALUES (?, 'bench', '2026-12-06', 1000000000)").run(ACCOUNT);
  const count = db.prepare("INSERT INTO daily_counts (day, key, n) VALUES (?, ?, 1)");
  db.transaction(() => {
    for (let i = 0; i < countsBefore; i++) count.run(DAY, capKey("phone"));
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return file;
}

function batches(people: number): WriteBatch[] {
  const keys = Array.from({ length: people }, () => [capKey("phone"), capKey("idcard")] as const);
  const out: WriteBatch[] = [];
  for (let id = 0, n = 0; n < REQUESTS; id++) {
    const batch: WriteBatch = { id, charges: [], audits: [], daily: [] };
    for (let i = 0; i < PER_COMMIT; i++, n++) {
      const requestId = newRequestId();
      const at = Date.now();
      const [phone, idcard] = keys[n % people] ?? ["", ""];
      batch.charges.push([requestId, ACCOUNT, SECRET_ID, "PhoneVerification", "simple", 30, at, 0, null] satisfies LedgerRow);
      batch.audits.push([
        at,
        requestId,
        ACCOUNT,
        SECRET_ID,
        "PhoneVerification",
        "0",
        "simple",
        "139****3352",
        1200,
        0,
        null,
        null,
      ] satisfies AuditRow);
      batch.daily.push([DAY, phone, idcard] satisfies DailyRow);
    }
    out.push(batch);
  }
  return out;
}

async function measure(writerFile: string, dbFile: string, work: readonly WriteBatch[]) {
  const worker = new Worker(writerFile, { workerData: { file: dbFile, sync: "normal", checkpointAlso: [] } satisfies WriterInit });
  try {
    return await timed(worker, work);
  } finally {
    await worker.terminate();
  }
}

async function timed(worker: Worker, work: readonly WriteBatch[]) {
  await new Promise((resolve) => worker.once("online", resolve));
  const waits: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const batch of work) {
    const sent = performance.now();
    await new Promise((resolve) => {
      worker.once("message", resolve);
      worker.postMessage(batch);
    });
    waits.push(performance.now() - sent);
  }
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  waits.sort((a, b) => a - b);
  const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] ?? 0;
  return { cpuUs: (used.user + used.system) / REQUESTS, wallUs: (wall * 1000) / REQUESTS, p50: at(0.5), p99: at(0.99), max: at(1) };
}

async function main(o: { serverRoot: string }): Promise<void> {
  const writerFile = path.join(o.serverRoot, "dist", "src", "store", "sqlite", "writer.js");
  if (!fs.existsSync(writerFile)) throw new Error(`${writerFile} is missing: build that checkout first (npm run build)`);
  console.log(
    `the writer of ${o.serverRoot}: ${REQUESTS.toLocaleString()} requests, ${PER_COMMIT} a commit, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}`,
  );
  console.log("| regime | CPU µs / request | wall µs / request | commit wait p50 / p99 / max ms |");
  console.log("|---|---|---|---|");
  for (const regime of REGIMES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-bench-writer-"));
    try {
      const dbFile = await prepared(dir, regime.countsBefore);
      const r = await measure(writerFile, dbFile, batches(regime.people));
      const ms = (v: number) => v.toFixed(2);
      console.log(`| ${regime.name} | ${r.cpuUs.toFixed(1)} | ${r.wallUs.toFixed(1)} | ${ms(r.p50)} / ${ms(r.p99)} / ${ms(r.max)} |`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

new Command()
  .name("bench:writer")
  .description("what the embedded store's writer thread costs per request, and how long its commits take")
  .option("--server-root <dir>", "the checkout whose writer is measured (built)", packageRoot)
  .action((o: { serverRoot: string }) => main(o))
  .parseAsync()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
