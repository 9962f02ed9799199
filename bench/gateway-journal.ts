/**
 * `npm run bench:journal [-- --before DIR]`: what a gateway call pays for its `sent` entry in the journal of paid
 * answers (written, fsynced, before the call goes upstream; dropped when it ends).
 *   1. The journal alone, on the disk of the temporary directory: a `sent` entry written and dropped, N times.
 *   2. Gateway calls end to end, one at a time (MobileStatus, a gateway to a local sanyao upstream, both processes on
 *      127.0.0.1): this checkout, and with --before the server of an earlier checkout, alternating round by round.
 */
import { Command } from "commander";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { signTc3 } from "../src/client/signer";
import { packageRoot } from "../src/common/paths";
import { THIS_PROCESS } from "../src/store/call-owner";
import { SqlitePaidJournal } from "../src/store/sqlite/paid-journal";

const run = promisify(execFile);
const log = (line: string) => process.stderr.write(`${line}\n`);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0;
const shown = (xs: number[]) =>
  `median ${quantile(xs, 0.5).toFixed(2)} ms, p90 ${quantile(xs, 0.9).toFixed(2)} ms, p99 ${quantile(xs, 0.99).toFixed(2)} ms`;
/** the settings of both servers: no limit in the way of calls one at a time */
const ENV = { SANYAO_RATE_LIMIT: "1000000", SANYAO_DAILY_CAP: "0", SANYAO_UPSTREAM_RATE_LIMIT: "1000000", SANYAO_LOG_LEVEL: "warn" };

interface Key {
  secretId: string;
  secretKey: string;
}

/** A `sent` entry written and dropped `n` times: milliseconds each. */
function journalAlone(n: number): number[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-journal-bench-"));
  const journal = new SqlitePaidJournal(dir, (err) => log(String(err)));
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const requestId = `bench-${i}`;
      const start = performance.now();
      journal.add({
        kind: "sent",
        entry: {
          requestId,
          accountId: "1",
          secretId: "AKID",
          action: "MobileStatus",
          at: Date.now(),
          owner: THIS_PROCESS,
          sentAt: Date.now(),
        },
      });
      journal.removeSent(requestId);
      times.push(performance.now() - start);
    }
  } finally {
    journal.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return times;
}

async function call(port: number, key: Key): Promise<string> {
  const body = JSON.stringify({ Mobile: "13800001234" });
  const headers = signTc3({
    ...key,
    service: "faceid",
    host: `127.0.0.1:${port}`,
    action: "MobileStatus",
    version: "2018-03-01",
    timestamp: Math.floor(Date.now() / 1000),
    body,
  });
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers, body });
  const json = (await res.json()) as { Response: { Result?: string; Error?: { Code: string } } };
  return json.Response.Result ?? json.Response.Error?.Code ?? "?";
}

interface Served {
  child: ChildProcess;
  port: number;
  /** what it printed until it served */
  output: string;
}

/** Starts `sanyao serve ARGS` of the checkout at `root`; resolves once `ready` matches its output (group 1: the port). */
function serve(root: string, args: string[], ready: RegExp): Promise<Served> {
  const child = spawn(process.execPath, [path.join(root, "bin", "sanyao.js"), "serve", "--port", "0", ...args], {
    env: { ...process.env, ...ENV },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const watch = (chunk: Buffer) => {
      output += chunk.toString();
      const m = ready.exec(output);
      if (m) resolve({ child, port: Number(m[1]), output });
    };
    child.stdout.on("data", watch);
    child.stderr.on("data", watch);
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}

const stop = (s: Served) =>
  new Promise<void>((done) => {
    s.child.removeAllListeners("exit");
    s.child.once("exit", () => done());
    s.child.kill("SIGTERM");
  });

/** A gateway of the checkout at `root` (its demo key for the team), pointed at the upstream with the company key. */
async function gatewayOf(
  root: string,
  upstream: { port: number; key: Key; dataDir: string },
): Promise<Served & { dataDir: string; key: Key }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-gateway-bench-"));
  const server = await serve(root, ["--data", dataDir], /at http:\/\/127\.0\.0\.1:(\d+)\/[\s\S]*Stop with Ctrl-C/);
  const secretId = /SecretId:\s+(\S+)/.exec(server.output)?.[1];
  const secretKey = /SecretKey:\s+(\S+)/.exec(server.output)?.[1];
  if (!secretId || !secretKey) throw new Error(`no demo key in the banner: ${server.output}`);
  const cli = (bin: string, args: string[]) =>
    run(process.execPath, [path.join(bin, "bin", "sanyao.js"), ...args], { env: { ...process.env, ...ENV } });
  const pub = await cli(packageRoot, ["encryption", "public-keys", "--json", "--data", upstream.dataDir]);
  const { rsa, sm2 } = JSON.parse(pub.stdout) as { rsa: string; sm2: string };
  await cli(root, [
    ...["upstream", "set", "--secret-id", upstream.key.secretId, "--secret-key", upstream.key.secretKey, "--data", dataDir],
    ...["--url", `http://127.0.0.1:${upstream.port}`, "--rsa-public-key", rsa, "--sm2-public-key", sm2],
  ]);
  await new Promise((r) => setTimeout(r, 1500)); // a running gateway reads `upstream set` within a second
  return { ...server, dataDir, key: { secretId, secretKey } };
}

/** `n` calls one at a time: milliseconds each (after 50 to warm up). */
async function calls(port: number, key: Key, n: number): Promise<number[]> {
  for (let i = 0; i < 50; i++) await call(port, key);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const result = await call(port, key);
    times.push(performance.now() - start);
    if (result !== "0") throw new Error(`a gateway call answered ${result}`);
  }
  return times;
}

async function main(o: { before?: string; calls: number; rounds: number; journal: number }): Promise<void> {
  const alone = journalAlone(o.journal);
  log(`journal alone (${o.journal} sent entries written and dropped, in ${os.tmpdir()}): ${shown(alone)}`);
  const upstream = await serve(packageRoot, ["--ephemeral"], /"endpoint":"http:\/\/127\.0\.0\.1:(\d+)"/);
  const ready = JSON.parse(upstream.output.split("\n").find((l) => l.startsWith("{")) ?? "{}") as Key & { dataDir: string };
  const roots: Array<[string, string]> = [
    ["this checkout", packageRoot],
    ...(o.before ? [["before", path.resolve(o.before)] as [string, string]] : []),
  ];
  const figures = new Map<string, number[]>(roots.map(([name]) => [name, []]));
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? roots : [...roots].reverse();
      for (const [name, root] of order) {
        const gateway = await gatewayOf(root, { port: upstream.port, key: ready, dataDir: ready.dataDir });
        try {
          const times = await calls(gateway.port, gateway.key, o.calls);
          figures.get(name)?.push(...times);
          log(`round ${round}, ${name}: ${shown(times)}`);
        } finally {
          await stop(gateway);
          fs.rmSync(gateway.dataDir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await stop(upstream);
  }
  for (const [name, times] of figures) log(`${name}, ${times.length} gateway calls one at a time: ${shown(times)}`);
}

new Command()
  .option("--before <dir>", "an earlier checkout (built) whose gateway is measured too")
  .option("--calls <n>", "gateway calls per round", (v) => Number(v), 500)
  .option("--rounds <n>", "rounds (each checkout once a round)", (v) => Number(v), 4)
  .option("--journal <n>", "sent entries written and dropped in the journal alone", (v) => Number(v), 2000)
  .action((o) => main(o))
  .parseAsync()
  .catch((err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  });
