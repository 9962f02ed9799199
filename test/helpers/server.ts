/** Test harness: a real server on a random port over a fresh data directory, with its log lines captured. */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config";
import { openInstallation } from "../../src/installation";
import { startServer, type RunningServer } from "../../src/server";
import { importRows, rowsFrom } from "../../src/sources/import";
import { loadRuleTables } from "../../src/rules/tables";
import { defaultPolicy } from "../../src/rules/policy";
import { chinaDate } from "../../src/rules/precheck";

export const repoRoot = path.resolve(__dirname, "..", "..", "..");
export const fixtures = path.join(repoRoot, "test", "fixtures");

export function tempDir(prefix = "sanyao-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestServer extends RunningServer {
  dataDir: string;
  logs: string[];
  /** set the server clock (ms); undefined returns to real time */
  setNow(ms: number | undefined): void;
  addAccount(name?: string): Promise<{ accountId: string; secretId: string; secretKey: string }>;
  addRecords(records: ReadonlyArray<Record<string, string>>): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = tempDir();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  let fixedNow: number | undefined;
  // Suites about other things should not trip the limits; the limits suite sets them itself.
  const config = loadConfig({ dataDir, port: 0, host: "127.0.0.1" }, { SANYAO_RATE_LIMIT: "1000000", SANYAO_DAILY_CAP: "0", ...env });
  const installation = openInstallation(dataDir);
  const server = await startServer({
    config,
    installation,
    clock: () => fixedNow ?? Date.now(),
    logDestination: destination as unknown as import("pino").DestinationStream,
  });
  return {
    ...server,
    dataDir,
    logs,
    setNow(ms) {
      fixedNow = ms;
    },
    async addAccount(name = "test") {
      const account = await installation.store.createAccount(name, config.accountDefaults);
      const key = await installation.store.createKey(account.accountId);
      return { accountId: account.accountId, ...key };
    },
    async addRecords(records) {
      const summary = await importRows(rowsFrom(records), installation.store, installation.keyring, {
        tables: loadRuleTables(),
        policy: defaultPolicy,
        todayChina: chinaDate(Date.now()),
      });
      if (summary.rejected > 0) throw new Error(`test records rejected: ${JSON.stringify(summary.rejections)}`);
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
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.on("error", reject);
    r.end(req.body);
  });
}
