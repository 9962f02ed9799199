/**
 * Test harness: a real server on a random port with its log lines captured, over a fresh embedded data
 * directory or a fresh PostgreSQL schema and Redis prefix (scale-out), so each suite can run on both.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { describe } from "node:test";
import { Writable } from "node:stream";
import { Client } from "pg";
import { Redis } from "ioredis";
import { loadConfig } from "../../src/app/config";
import { openInstallation } from "../../src/app/installation";
import { startServer, type RunningServer } from "../../src/app/server";
import { importRows, rowsFrom } from "../../src/sources/import";
import { loadRuleTables } from "../../src/rules/tables";
import { defaultPolicy } from "../../src/rules/policy";
import { chinaDate } from "../../src/rules/precheck";
import { sanyao, type CliResult } from "./cli";
import { ensureServices, PG_URL, REDIS_URL } from "./services";

export { fixtures, repoRoot } from "./paths";

export type Backend = "sqlite" | "scale-out";
export const BACKENDS: Backend[] = (process.env.SANYAO_TEST_BACKENDS?.split(",") as Backend[] | undefined) ?? ["sqlite", "scale-out"];

/** Runs the suite once per backend: embedded SQLite, and PostgreSQL + Redis. */
export function describeBackends(name: string, suite: (backend: Backend) => void): void {
  for (const backend of BACKENDS) describe(`${name} [${backend}]`, () => suite(backend));
}

export function tempDir(prefix = "sanyao-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The environment of a fresh scale-out installation: its own schema, Redis prefix and secret. */
export function scaleOutEnv(): Record<string, string> {
  const id = randomBytes(6).toString("hex");
  return {
    SANYAO_DATABASE_URL: PG_URL,
    SANYAO_DATABASE_SCHEMA: `t_${id}`,
    SANYAO_REDIS_URL: REDIS_URL,
    SANYAO_REDIS_PREFIX: `t:${id}:`,
    SANYAO_SECRET: randomBytes(32).toString("hex"),
  };
}

/** Drops what a scale-out test installation left: its schema and its Redis keys. */
export async function dropScaleOut(env: Record<string, string>): Promise<void> {
  const pg = new Client({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS ${env.SANYAO_DATABASE_SCHEMA} CASCADE`);
  await pg.end();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${env.SANYAO_REDIS_PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

export interface TestServer extends RunningServer {
  backend: Backend;
  dataDir: string;
  /** the SANYAO_* environment it was started with (the scale-out schema and Redis prefix among them) */
  env: Readonly<Record<string, string>>;
  logs: string[];
  /** set the server clock (ms); undefined returns to real time */
  setNow(ms: number | undefined): void;
  addAccount(name?: string): Promise<{ accountId: string; secretId: string; secretKey: string }>;
  addRecords(records: ReadonlyArray<Record<string, string>>): Promise<void>;
  /** runs the sanyao command against this server's installation, and this server (SANYAO_ENDPOINT) */
  cli(args: string[]): Promise<CliResult>;
  /**
   * Everything the installation has stored, for leak checks: the data directory's files, its journal's among them
   * (embedded), or every row of every table as JSON text (scale-out; bytea shows as \\x + hex, so search binary
   * values as hex too).
   */
  storedData(): Promise<Buffer>;
}

/** `dataDir`: an embedded installation's directory to start on again (a restart), else a fresh one. */
export async function startTestServer(
  env: Record<string, string> = {},
  backend: Backend = "sqlite",
  dataDir: string = tempDir(),
): Promise<TestServer> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  let fixedNow: number | undefined;
  if (backend === "scale-out") await ensureServices();
  const backendEnv = backend === "scale-out" ? scaleOutEnv() : {};
  // Suites about other things should not trip the limits; the limits suite sets them itself.
  const fullEnv = {
    SANYAO_RATE_LIMIT: "1000000",
    SANYAO_RATE_LIMITS: "IdCardVerification=1000000",
    SANYAO_DAILY_CAP: "0",
    ...backendEnv,
    ...env,
  };
  const config = loadConfig({ dataDir, port: 0, host: "127.0.0.1" }, fullEnv);
  const installation = await openInstallation(config);
  const server = await startServer({
    config,
    installation,
    clock: () => fixedNow ?? Date.now(),
    logDestination: destination as unknown as import("pino").DestinationStream,
  }).catch(async (err: unknown) => {
    // A server that fails to start must not leave its store open: the test file would never exit.
    await installation.close();
    throw err;
  });
  return {
    ...server,
    backend,
    dataDir,
    env: fullEnv,
    logs,
    async close() {
      await server.close();
      if (backend === "scale-out") await dropScaleOut(backendEnv);
    },
    setNow(ms) {
      fixedNow = ms;
    },
    async addAccount(name = "test") {
      const account = await installation.store.accounts.create(name, config.accountDefaults);
      const key = await installation.store.apiKeys.create(account.accountId);
      return { accountId: account.accountId, ...key };
    },
    async addRecords(records) {
      const summary = await importRows(rowsFrom(records), installation.store.records, installation.keyring, {
        tables: loadRuleTables(),
        policy: defaultPolicy,
        todayChina: chinaDate(Date.now()),
      });
      if (summary.rejected > 0) throw new Error(`test records rejected: ${JSON.stringify(summary.rejections)}`);
    },
    async storedData() {
      if (backend === "sqlite") {
        await installation.store.close().catch(() => undefined);
        // The journal of paid answers too (journal/, made at a gateway's first upstream call).
        const files = fs.readdirSync(dataDir, { recursive: true, encoding: "utf8" }).map((f) => path.join(dataDir, f));
        return Buffer.concat(files.filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f)));
      }
      const pg = new Client({ connectionString: PG_URL });
      await pg.connect();
      const schema = backendEnv.SANYAO_DATABASE_SCHEMA!;
      const tables = await pg.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [
        schema,
      ]);
      const parts: string[] = [];
      for (const { table_name } of tables.rows) {
        const rows = await pg.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM ${schema}.${table_name} t`);
        parts.push(...rows.rows.map((r) => r.j));
      }
      await pg.end();
      return Buffer.from(parts.join("\n"));
    },
    cli(args) {
      // Commands that act on the running server (scenarios, requests, explain) find it by SANYAO_ENDPOINT.
      const env = { SANYAO_ENDPOINT: server.url, ...fullEnv };
      return backend === "scale-out" ? sanyao(args, env) : sanyao([...args, "--data", dataDir], env);
    },
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: { Response: Record<string, unknown> & { Error?: { Code: string; Message: string }; RequestId: string } };
}

/** Sends exactly these bytes' worth of request: method, target, headers (Host included) and body. */
export function rawRequest(
  port: number,
  req: { method: string; target: string; headers: Record<string, string> | Array<[string, string]>; body?: Buffer | string },
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Array.isArray(req.headers) ? req.headers : Object.entries(req.headers)) headers[k] = v;
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, method: req.method, path: req.target, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined; // not JSON: a test that reads .json fails loudly
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as RawResponse["json"] });
      });
    });
    r.on("error", reject);
    r.end(req.body);
  });
}

/** What a second instance needs to serve the same scale-out installation as `first`: its schema, prefix and secret. */
export const SHARED_INSTALLATION = [
  "SANYAO_DATABASE_SCHEMA",
  "SANYAO_REDIS_PREFIX",
  "SANYAO_SECRET",
  "SANYAO_DATABASE_URL",
  "SANYAO_REDIS_URL",
];

/** Two instances on one installation in scale-out (what they count is kept in Redis); one embedded server otherwise. */
export async function serversOnOneInstallation(backend: Backend, env: Record<string, string> = {}): Promise<[TestServer, ...TestServer[]]> {
  const first = await startTestServer(env, backend);
  if (backend !== "scale-out") return [first];
  const shared = Object.fromEntries(
    SHARED_INSTALLATION.flatMap((name) => (first.env[name] === undefined ? [] : [[name, first.env[name]]])),
  );
  return [first, await startTestServer({ ...env, ...shared }, backend)];
}
