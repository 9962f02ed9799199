/**
 * The console's API on a big installation: 1,000 accounts, 1,000,000 ledger rows and as many audit rows over the
 * last 30 days, on SQLite and on PostgreSQL. The rows are made in the database by one INSERT … SELECT each (a
 * recursive CTE, generate_series), then every route the console calls is timed; the median of 7 is printed. With
 * --pages, each console page too, in Chromium, from its opening to its data shown (bench/console-pages.ts).
 *
 *   npm run bench:console [-- --rows 1000000 --backends sqlite,postgres --pages]
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Client } from "pg";
import { loadConfig } from "../src/app/config";
import { openInstallation } from "../src/app/installation";
import { startServer } from "../src/app/server";
import { MIGRATIONS } from "../src/store/migrations";
import { DATABASE_FILE } from "../src/store/sqlite/store";
import { timePages } from "./console-pages";

const TOKEN = "bench-console-operator-token-0";
const PG_URL = process.env.SANYAO_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const DAY_MS = 86_400_000;
const ACCOUNTS = 1000;

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const ROWS = Number(argValue("--rows", "1000000"));
const BACKENDS = argValue("--backends", "sqlite,postgres").split(",");
const PAGES = process.argv.includes("--pages");

/** The statements that fill an installation, in the dialect's way of counting rows out. */
function fillStatements(series: (n: number) => string, now: number): string[] {
  const actions =
    "CASE i % 4 WHEN 0 THEN 'PhoneVerification' WHEN 1 THEN 'MobileStatus' WHEN 2 THEN 'IdCardVerification' ELSE 'CheckPhoneAndName' END";
  const account = `(100000000000 + i % ${ACCOUNTS})`;
  // spread evenly over the last 30 days, the newest now
  const at = `(${now} - (i * ${Math.floor((30 * DAY_MS) / ROWS)}))`;
  return [
    `INSERT INTO accounts (account_id, name, created_at) SELECT CAST(100000000000 + i AS TEXT), 'team ' || i, '2026-01-01T00:00:00.000Z' FROM ${series(ACCOUNTS - 1)}`,
    `INSERT INTO ledger (request_id, account_id, secret_id, action, mode, unit_price, at, test)
     SELECT 'req-' || i, CAST(${account} AS TEXT), 'AKIDbench' || (i % ${ACCOUNTS}), ${actions}, 'simple', 30, ${at}, 0 FROM ${series(ROWS - 1)}`,
    `INSERT INTO audit (at, request_id, account_id, secret_id, action, code, latency_us, variant, test)
     SELECT ${at}, 'req-' || i, CAST(${account} AS TEXT), 'AKIDbench' || (i % ${ACCOUNTS}), ${actions},
       CASE WHEN i % 50 = 0 THEN 'RequestLimitExceeded' WHEN i % 97 = 0 THEN 'InternalError' ELSE '0' END,
       200 + (i * 37) % 5000, 'simple', 0 FROM ${series(ROWS - 1)}`,
  ];
}

/** The tables as they were before the console (migration 13): the installation is then upgraded by opening it. */
const BEFORE_CONSOLE = MIGRATIONS.filter((m) => m.version <= 13);

/** An installation at migration 13 with its history made in the database; opening it afterwards migrates it. */
async function fill(backend: string, dataDir: string, schema: string, now: number): Promise<void> {
  if (backend === "sqlite") {
    const db = new Database(path.join(dataDir, DATABASE_FILE));
    db.pragma("journal_mode = WAL");
    const series = (n: number) => `(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${n}) SELECT i FROM s)`;
    db.transaction(() => {
      for (const m of BEFORE_CONSOLE) db.exec(m.sqlite);
      db.pragma("user_version = 13");
      for (const sql of fillStatements(series, now)) db.exec(sql);
    })();
    db.exec("ANALYZE");
    db.close();
    return;
  }
  const pg = new Client({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(`CREATE SCHEMA ${schema}`);
  await pg.query(`SET search_path TO ${schema}`);
  await pg.query("CREATE TABLE schema_version (version INTEGER NOT NULL)");
  for (const m of BEFORE_CONSOLE) {
    await pg.query(m.postgres);
    await pg.query("INSERT INTO schema_version (version) VALUES ($1)", [m.version]);
  }
  for (const sql of fillStatements((n) => `generate_series(0::bigint, ${n}) AS s(i)`, now)) await pg.query(sql);
  // what autovacuum does after a while on its own: the visibility map lets the overview read its index alone
  await pg.query("VACUUM ANALYZE accounts, ledger, audit");
  await pg.end();
}

const auth = { headers: { authorization: `Bearer ${TOKEN}` } };

async function time(url: string, route: string): Promise<{ first: number; ms: number; status: number }> {
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await res.arrayBuffer();
    times.push(performance.now() - t0);
    status = res.status;
  }
  const first = times[0] ?? 0;
  times.sort((a, b) => a - b);
  return { first, ms: times[3] ?? 0, status };
}

async function bench(backend: string): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-bench-console-"));
  const schema = `bench_console_${process.pid}`;
  const env: Record<string, string> = { SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_LOG_LEVEL: "silent" };
  if (backend === "postgres") {
    Object.assign(env, { SANYAO_DATABASE_URL: PG_URL, SANYAO_DATABASE_SCHEMA: schema, SANYAO_SECRET: randomBytes(32).toString("hex") });
  }
  const config = loadConfig({ dataDir, port: 0, demo: false }, env);
  const now = Date.now();
  // Made as an installation of the version before the console, then upgraded by opening it: migration 14 builds
  // its indexes and rolls up the history then.
  const t0 = performance.now();
  await fill(backend, dataDir, schema, now);
  process.stdout.write(
    `${backend}: ${ACCOUNTS} accounts, ${ROWS} ledger and ${ROWS} audit rows made in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  const t1 = performance.now();
  const installation = await openInstallation(config);
  process.stdout.write(
    `  opened, upgraded by migration 14 (indexes, the history rolled up): ${((performance.now() - t1) / 1000).toFixed(1)} s\n`,
  );
  const server = await startServer({ config, installation });
  let closed = false;
  try {
    // The 30-day overview's totals against the audit trail counted whole: the rollup made at the upgrade holds them.
    const window = (await (await fetch(`${server.opsUrl}/_sanyao/overview?window=30d`, auth)).json()) as {
      from: string;
      actions: Array<{ calls: number }>;
    };
    const shown = window.actions.reduce((n, a) => n + a.calls, 0);
    // row i was made at now - i × step; those at or after the window's start are in it (every 50th is a refusal, counted too)
    const step = Math.floor((30 * DAY_MS) / ROWS);
    const inWindow = Math.min(ROWS, Math.floor((now - Date.parse(window.from)) / step) + 1);
    process.stdout.write(`  the 30-day overview counts ${shown} calls; the audit trail holds ${inWindow} in its range\n`);
    const account = "100000000007";
    const day = new Date(now - DAY_MS + 8 * 3600_000).toISOString().slice(0, 10);
    const routes = [
      "/_sanyao/overview?window=hour",
      "/_sanyao/overview?window=day",
      "/_sanyao/overview?window=30d",
      "/_sanyao/requests?limit=100",
      "/_sanyao/requests?after=0&action=PhoneVerification",
      "/_sanyao/requests/req-1",
      "/_sanyao/accounts?limit=50",
      "/_sanyao/accounts?search=team%2099&limit=50",
      "/_sanyao/accounts?offset=950&limit=50",
      `/_sanyao/accounts/${account}`,
      `/_sanyao/accounts/${account}/keys`,
      `/_sanyao/accounts/${account}/top-ups`,
      `/_sanyao/accounts/${account}/ledger?limit=50`,
      `/_sanyao/accounts/${account}/ledger?limit=50&offset=900`,
      `/_sanyao/accounts/${account}/ledger?day=${day}&action=MobileStatus`,
      `/_sanyao/accounts/${account}/ledger?format=csv`,
      "/_sanyao/usage",
      `/_sanyao/usage?account=${account}`,
      `/_sanyao/usage?account=${account}&format=csv`,
      `/_sanyao/usage?from=${day}&to=${day}`,
      "/_sanyao/records/stats",
      "/_sanyao/scenarios",
      "/_sanyao/gateway",
      "/_sanyao/gateway/unknown?limit=20",
    ];
    for (const route of routes) {
      const { first, ms, status } = await time(server.opsUrl, route);
      process.stdout.write(`  ${ms.toFixed(1).padStart(8)} ms (first ${first.toFixed(1).padStart(7)} ms)  ${status}  GET ${route}\n`);
    }
    // A restart finds the rollup where it was left: its first overviews read it at once.
    closed = true;
    await server.close();
    const again = await startServer({ config, installation: await openInstallation(config) });
    for (const window of ["day", "30d"]) {
      const { first } = await time(again.opsUrl, `/_sanyao/overview?window=${window}`);
      process.stdout.write(`  after a restart, the first ${window} overview: ${first.toFixed(1)} ms\n`);
    }
    try {
      if (PAGES) {
        process.stdout.write(`  console pages in Chromium, from opening to data shown (median of 5, first):\n`);
        const timings = await timePages({ opsUrl: again.opsUrl, port: again.port, token: TOKEN, accountId: account });
        for (const { page, median, first } of timings) {
          process.stdout.write(`  ${median.toFixed(0).padStart(8)} ms (first ${first.toFixed(0).padStart(5)} ms)  ${page}\n`);
        }
      }
    } finally {
      await again.close();
    }
  } finally {
    if (!closed) await server.close();
    if (backend === "postgres") {
      const pg = new Client({ connectionString: PG_URL });
      await pg.connect();
      await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pg.end();
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stdout.write(
    `${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; median of 7 calls per route\n`,
  );
  for (const backend of BACKENDS) await bench(backend);
  process.stdout.write(
    `load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
