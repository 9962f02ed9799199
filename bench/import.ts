/**
 * `npm run bench:import`: how fast `sanyao records import` loads a large file, and how record lookups fare after.
 * Generates a CSV of synthetic records (import-data.ts), imports it with the CLI into a fresh embedded installation
 * and into a fresh PostgreSQL schema, each a child process measured from inside (CPU time of every thread, peak
 * RSS), then times the record read the request path uses (RecordsSource.verify, in-process) with 10,000 records
 * and with the imported set.
 */
import { Command } from "commander";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Pool } from "pg";
import { loadConfig } from "../src/app/config";
import { openInstallation } from "../src/app/installation";
import { packageRoot } from "../src/common/paths";
import { RecordsSource } from "../src/sources/records";
import type { CacheWalk, Warmed } from "../src/store/ports";
import { syntheticRow, writeRecordsCsv } from "./import-data";

const run = promisify(execFile);
const BIN = path.join(packageRoot, "bin", "sanyao.js");
const USAGE_HOOK = path.join(packageRoot, "dist", "bench", "import-usage.js");
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Options {
  rows: number;
  big?: boolean;
  databaseUrl: string;
  backend: "both" | "sqlite" | "postgres";
}

/** Where an installation lives: a data directory, and for PostgreSQL a schema (the secret stays in the directory). */
interface Target {
  backend: "sqlite" | "postgres";
  dataDir: string;
  schema?: string;
}

interface Measured {
  backend: string;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  /** the one-minute load average when the import started and when it ended */
  load: [number, number];
  lookups: Lookups[];
}

function envOf(target: Target, url: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SANYAO_DATA_DIR: target.dataDir };
  if (target.schema) {
    Object.assign(env, {
      SANYAO_DATABASE_URL: url,
      SANYAO_DATABASE_SCHEMA: target.schema,
      SANYAO_SECRET_FILE: path.join(target.dataDir, "secret"),
    });
  }
  return env;
}

async function freshInstallation(backend: Target["backend"], work: string, name: string, url: string): Promise<Target> {
  const dataDir = path.join(work, name);
  const target: Target = {
    backend,
    dataDir,
    ...(backend === "postgres" && { schema: `bench_import_${process.pid}_${name.replace(/\W/g, "_")}` }),
  };
  if (target.schema) {
    fs.mkdirSync(dataDir, { recursive: true });
    await run(process.execPath, [BIN, "secret", "create", "--out", path.join(dataDir, "secret")]);
  }
  await run(process.execPath, [BIN, "init", "--no-demo", "--json"], { env: envOf(target, url) });
  return target;
}

/** Runs the CLI import of `csv` into `target`: its wall time, and its CPU time and peak RSS as it measured them. */
async function importFile(target: Target, csv: string, url: string): Promise<{ seconds: number; cpuSeconds: number; peakRssMiB: number }> {
  const usageFile = path.join(target.dataDir, "usage.json");
  const started = process.hrtime.bigint();
  const { stdout } = await run(process.execPath, ["--require", USAGE_HOOK, BIN, "records", "import", csv, "--json"], {
    env: { ...envOf(target, url), SANYAO_BENCH_USAGE: usageFile },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = JSON.parse(stdout) as { rejected: number };
  if (summary.rejected > 0) throw new Error(`synthetic records were rejected: ${stdout.slice(0, 500)}`);
  const usage = JSON.parse(fs.readFileSync(usageFile, "utf8")) as { cpuSeconds: number; peakRssMiB: number };
  return { seconds, ...usage };
}

interface Lookups {
  records: number;
  p50us: number;
  p99us: number;
  /** what the store's read into the page cache did, when it was asked for, and its walk through its own cache */
  read?: Warmed & { walked?: CacheWalk };
}

/**
 * p50 and p99 of RecordsSource.verify on `records` imported rows, after as many lookups of others to warm up.
 * `set`: the sequences shifted by that many thirds of the rows (0, 1, 2), so that a measurement asks for other rows
 * than an earlier one (pages may still be shared: rows lie in the index by their keyed hash, not in file order); `read`: once the store has read its records into the page cache as a server's start does (records.db;
 * PostgreSQL through pg_prewarm), and walked them through the connection's own cache (records.db).
 */
async function lookups(target: Target, records: number, url: string, how: { set?: 0 | 1 | 2; read?: boolean } = {}): Promise<Lookups> {
  const inst = await openInstallation(loadConfig({}, envOf(target, url)), { create: false });
  const source = new RecordsSource(inst.store.records, inst.keyring);
  const shift = Math.floor(((how.set ?? 0) * records) / 3);
  let read: (Warmed & { walked?: CacheWalk }) | undefined;
  const person = (i: number) => {
    const [phone = "", name = "", idCard = ""] = syntheticRow(i).trimEnd().split(",");
    return { phone, name, idCard };
  };
  const samples: number[] = [];
  try {
    if (how.read) {
      const signal = new AbortController().signal;
      read = await inst.store.records.warm?.(signal);
      const walk = await inst.store.records.fillCache?.(signal);
      if (read && walk) read = { ...read, walked: walk };
    }
    for (let i = 0; i < 20_000; i++) await source.verify(person((i * 7919 + 1 + shift) % records));
    for (let i = 0; i < 20_000; i++) {
      const p = person((i * 104_729 + shift) % records);
      const t = process.hrtime.bigint();
      const answer = await source.verify(p);
      samples.push(Number(process.hrtime.bigint() - t) / 1000);
      if (i === 0 && JSON.stringify(answer).includes("NotFound"))
        throw new Error(`an imported record was not found: ${JSON.stringify(answer)}`);
    }
  } finally {
    await inst.store.close();
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.floor(samples.length * q)] ?? Number.NaN;
  return { records, p50us: at(0.5), p99us: at(0.99), ...(read ? { read } : {}) };
}

async function measure(backend: Target["backend"], o: Options, work: string, csv: string, small: string): Promise<Measured> {
  const target = await freshInstallation(backend, work, `${backend}-${o.rows}`, o.databaseUrl);
  const smallTarget = await freshInstallation(backend, work, `${backend}-10000`, o.databaseUrl);
  try {
    // A server's start reads the records into the page cache: records.db, or on PostgreSQL through pg_prewarm, which
    // a superuser installs (the default --database-url is the test server, where the benchmark's role is one). It is
    // left installed: it changes nothing until called.
    if (backend === "postgres")
      await withPool(o.databaseUrl, (pool) => pool.query("CREATE EXTENSION IF NOT EXISTS pg_prewarm")).catch((err: unknown) =>
        log(`postgres: pg_prewarm could not be installed, so the records will not be read ahead: ${String(err)}`),
      );
    log(`${backend}: importing ${o.rows.toLocaleString()} rows …`);
    const loadBefore = os.loadavg()[0] ?? 0;
    const imported = await importFile(target, csv, o.databaseUrl);
    const load: [number, number] = [loadBefore, os.loadavg()[0] ?? 0];
    log(`${backend}: ${Math.round(o.rows / imported.seconds).toLocaleString()} rows/s; lookups …`);
    await importFile(smallTarget, small, o.databaseUrl);
    // A second set of rows, still unread, is the control of the read; the third, after the read, is fresh too. The
    // 10,000 are measured again last: straight after a large import the server is still busy with it (PostgreSQL's
    // checkpoint and autovacuum), so the first 10,000 figure can be slower than the large ones measured minutes later.
    const measured = [
      await lookups(smallTarget, 10_000, o.databaseUrl),
      await lookups(target, o.rows, o.databaseUrl),
      await lookups(target, o.rows, o.databaseUrl, { set: 1 }),
      await lookups(target, o.rows, o.databaseUrl, { set: 2, read: true }),
      await lookups(smallTarget, 10_000, o.databaseUrl),
    ];
    const read = measured[3]?.read;
    log(
      `${backend}: read into the page cache: ${read?.skipped ?? `${((read?.bytes ?? 0) / 2 ** 20).toFixed(0)} of ${((read?.of ?? 0) / 2 ** 20).toFixed(0)} MiB in ${(read?.seconds ?? 0).toFixed(1)} s${read?.boundBy ? ` (bounded by ${read.boundBy})` : ""}${read?.failed ? `, ${read.failed.relations} relations failed: ${read.failed.first}` : ""}`}${read?.walked ? `; ${read.walked.skipped ?? `${read.walked.rows.toLocaleString()} rows walked through the connection's own cache in ${read.walked.seconds.toFixed(1)} s`}` : ""}`,
    );
    return { backend, rows: o.rows, ...imported, load, lookups: measured };
  } finally {
    for (const t of [target, smallTarget]) if (t.schema) await dropSchema(o.databaseUrl, t.schema);
  }
}

async function withPool<T>(url: string, work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  await withPool(url, (pool) => pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

async function main(o: Options): Promise<void> {
  const rows = o.big ? 30_000_000 : o.rows;
  const options = { ...o, rows };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-bench-import-"));
  try {
    const csv = path.join(work, "records.csv");
    const small = path.join(work, "records-10000.csv");
    let t = process.hrtime.bigint();
    await writeRecordsCsv(csv, rows);
    await writeRecordsCsv(small, 10_000);
    log(
      `generated ${rows.toLocaleString()} rows (${(fs.statSync(csv).size / 2 ** 20).toFixed(0)} MiB) in ${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s`,
    );
    const results: Measured[] = [];
    const backends = o.backend === "both" ? (["sqlite", "postgres"] as const) : [o.backend];
    for (const backend of backends) results.push(await measure(backend, options, work, csv, small));
    t = process.hrtime.bigint();
    const lines = [
      `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} (at the end)`,
      "| backend | rows | rows/s | wall s | CPU s | CPU s per 1M rows | peak RSS MiB | load avg at start / end | lookup p50 / p99 µs (10,000) | lookup p50 / p99 µs (all rows) | other rows, still unread | other rows again, after a server start's read (records.db; PostgreSQL: pg_prewarm) | 10,000 again, last | p50 after the read over the last 10,000's |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
      ...results.map((r) => {
        const [few, all, second, afterRead, fewLast] = r.lookups;
        const ratio = afterRead && fewLast ? `${(afterRead.p50us / fewLast.p50us).toFixed(2)}×` : "";
        const cell = (l: (typeof r.lookups)[number] | undefined) => (l ? `${l.p50us.toFixed(1)} / ${l.p99us.toFixed(1)}` : "");
        return `| ${r.backend} | ${r.rows.toLocaleString()} | ${Math.round(r.rows / r.seconds).toLocaleString()} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${((r.cpuSeconds * 1e6) / r.rows).toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${r.load.map((l) => l.toFixed(1)).join(" / ")} | ${cell(few)} | ${cell(all)} | ${cell(second)} | ${cell(afterRead)} | ${cell(fewLast)} | ${ratio} |`;
      }),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    const out = path.join(packageRoot, "bench", "results");
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(
      path.join(out, `import-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
      JSON.stringify({ options, results }, null, 2),
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const program = new Command("bench:import")
  .option(
    "--rows <n>",
    "rows in the generated file",
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 10_000) throw new Error("--rows is a whole number of at least 10000");
      return n;
    },
    1_000_000,
  )
  .option("--big", "30,000,000 rows (hours on a small machine, and tens of GB of disk)")
  .option("--backend <name>", "sqlite, postgres or both", "both")
  .option(
    "--database-url <url>",
    "the PostgreSQL server (a schema is made and dropped)",
    process.env.SANYAO_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  )
  .action(async (o: Options) => {
    if (!["both", "sqlite", "postgres"].includes(o.backend)) throw new Error("--backend is sqlite, postgres or both");
    await main(o);
  });
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
