/**
 * `npm run bench:instructions`: instructions per request of sanyao and of the floor, counted by valgrind's
 * callgrind, a figure that does not drift with the load of a shared machine as req/s does. Each server runs under
 * callgrind with instrumentation off, answers a warm-up of the benchmark's signed requests, then the counters are
 * switched on for a fixed number of the same requests (all threads: the SQLite writer and GC helpers count too).
 * Each server gets a fresh copy of the cached installation, so no run measures the rows of an earlier one.
 *
 * Needs valgrind (apt-get install valgrind). Prints one line per server.
 */
import { Command } from "commander";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { packageRoot } from "../src/common/paths";
import { ensureDataset, type Dataset } from "./dataset";
import { freshInstallation } from "./fresh";
import { mix, writeRequests } from "./requests";

interface Options {
  records: number;
  requests: number;
  warmup: number;
  connections: number;
  serverRoot: string;
  only?: "sanyao" | "floor";
  /** a directory to keep the counted dumps in (for callgrind_annotate) */
  keep?: string;
}

interface SignedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Sends `requests` over `connections` kept-alive connections, `count` in all; throws on any non-200 answer. */
async function send(port: number, requests: readonly SignedRequest[], count: number, connections: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let next = 0;
  const one = (r: SignedRequest) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: r.method, path: r.path, headers: r.headers, agent }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`answered ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end(r.body);
    });
  const lane = async () => {
    while (next < count) {
      const r = requests[next++ % requests.length];
      if (r) await one(r);
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  agent.destroy();
}

function totalInstructions(file: string): number {
  // callgrind's dump names the total on a "summary:" or "totals:" line
  const text = fs.readFileSync(file, "utf8");
  const m = /^(?:summary|totals):\s+(\d+)/m.exec(text);
  if (!m?.[1]) throw new Error(`no total in ${file}`);
  return Number(m[1]);
}

/**
 * Instructions of TurboFan's background jobs in a dump: after 20,000 requests V8 still optimises (and re-optimises)
 * now and then, a cost that varies by ±2 % of the total from run to run; the figure without it is the steadier one.
 */
function compilerInstructions(file: string): number {
  const text = execFileSync("callgrind_annotate", ["--inclusive=yes", "--threshold=100", file], {
    maxBuffer: 256 * 1024 * 1024,
  }).toString();
  const m = /^\s*([\d,]+) \([^)]*\)\s+\S*OptimizingCompileDispatcher::CompileTask::RunInternal/m.exec(text);
  return m?.[1] ? Number(m[1].replace(/,/g, "")) : 0;
}

async function count(which: "sanyao" | "floor", d: Dataset, o: Options, tmp: string): Promise<{ all: number; compiler: number }> {
  const dataDir = freshInstallation(d.dataDir, path.join(tmp, `${which}-data`));
  const out = path.join(tmp, `${which}.callgrind`);
  const args =
    which === "sanyao"
      ? [path.join(o.serverRoot, "bin", "sanyao.js"), "serve", "--data", dataDir, "--port", "0"]
      : [
          path.join(packageRoot, "dist", "bench", "floor-server.js"),
          JSON.stringify({ dataDir, secretId: d.secretId, secretKey: d.secretKey, ledgerFile: path.join(tmp, "floor-ledger.db") }),
        ];
  const child = spawn("valgrind", ["--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${out}`, process.execPath, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, SANYAO_LOG_LEVEL: "info" },
  });
  // a child that could not be spawned emits "error" and never "exit"
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  // The server under valgrind is stopped however the count ends: a failure must not leave it running.
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let seen = "";
      const timer = setTimeout(() => reject(new Error(`${which} did not start: ${seen}`)), 300_000);
      const watch = (chunk: Buffer) => {
        seen += chunk.toString();
        const m = /(?:listening |at http:\/\/127\.0\.0\.1:)(\d+)/.exec(seen);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout.on("data", watch);
      child.stderr.on("data", watch);
      child.once("exit", (code) => reject(new Error(`${which} exited with ${code}: ${seen}`)));
      child.once("error", reject);
    });
    const requestsFile = path.join(tmp, `${which}-requests.json`);
    const bodies = Array.from({ length: 4000 }, (_, i) => mix(i, d.records));
    writeRequests(requestsFile, port, d, bodies);
    const requests = JSON.parse(fs.readFileSync(requestsFile, "utf8")) as SignedRequest[];
    await send(port, requests, o.warmup, o.connections);
    const pid = String(child.pid ?? 0);
    execFileSync("callgrind_control", ["-i", "on", pid], { stdio: "ignore" });
    await send(port, requests.slice(o.warmup % requests.length).concat(requests), o.requests, o.connections);
    // a dump of what was counted since instrumentation went on (out.1); the one at exit is not read
    execFileSync("callgrind_control", ["-d", pid], { stdio: "ignore" });
    const counted = `${out}.1`;
    const perRequest = { all: totalInstructions(counted) / o.requests, compiler: compilerInstructions(counted) / o.requests };
    if (o.keep) {
      fs.mkdirSync(o.keep, { recursive: true });
      fs.copyFileSync(counted, path.join(o.keep, `${which}.callgrind`));
    }
    return perRequest;
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

async function main(o: Options): Promise<void> {
  const d = await ensureDataset(o.records, packageRoot, log);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-instructions-"));
  try {
    for (const which of ["sanyao", "floor"] as const) {
      if (o.only && o.only !== which) continue;
      log(`${which} under callgrind: ${o.warmup} requests to warm up, then ${o.requests} counted …`);
      const perRequest = await count(which, d, o, tmp);
      const n = (x: number) => Math.round(x).toLocaleString("en");
      process.stdout.write(
        `${which}: ${n(perRequest.all)} instructions per request; ${n(perRequest.all - perRequest.compiler)} without the optimising compiler's background jobs (${n(perRequest.compiler)})\n`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

new Command("bench:instructions")
  .description("instructions per request of sanyao and of the floor, counted by valgrind's callgrind")
  .option("--records <n>", "synthetic records in the store", (v) => Number(v), 200_000)
  .option("--requests <n>", "requests counted", (v) => Number(v), 3000)
  .option("--warmup <n>", "requests before counting (V8 still compiles the hot path after 3,000)", (v) => Number(v), 20_000)
  .option("--connections <n>", "concurrent connections", (v) => Number(v), 16)
  .option("--only <server>", "sanyao or floor")
  .option("--keep <dir>", "keep the counted callgrind dumps there (read them with callgrind_annotate)")
  .option("--server-root <dir>", "count the server of another checkout (built, with node_modules)", packageRoot)
  .action((o: Options) => main(o))
  .parseAsync(process.argv)
  .catch((err) => {
    process.stderr.write(`bench:instructions: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
