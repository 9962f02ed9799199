/**
 * `npm run bench:ab -- --before DIR`: the saturated PhoneVerification phase of `npm run bench`, alternating between
 * the server of an earlier checkout and this one, round after round, with the bare node:http ceiling in each
 * round. A machine's figures drift between runs; alternating in one run lets the medians compare.
 */
import { Command } from "commander";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageRoot } from "../src/common/paths";
import { ensureDataset } from "./dataset";
import { startProcess, threadCpuSeconds } from "./proc";
import { checkMix, mix, writeRequests } from "./requests";
import { wrkAvailable, wrkLoad } from "./wrk";
import { freshInstallation } from "./fresh";

interface Options {
  before: string;
  rounds: number;
  records: number;
  connections: number;
  duration: number;
  /** seconds of saturated load before the counted phase (V8 and the store's tables settle) */
  warmup: number;
}

interface Round {
  rps: number;
  ratio: number;
  mainUs: number;
  otherUs: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(o: Options): Promise<void> {
  if (!wrkAvailable()) throw new Error("bench:ab needs wrk (apt-get install wrk)");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-ab-"));
  const requestsFile = path.join(tmp, "requests.json");
  const roots = { before: path.resolve(o.before), after: packageRoot };
  const datasets = { before: await ensureDataset(o.records, roots.before, log), after: await ensureDataset(o.records, roots.after, log) };
  const bodies = Array.from({ length: 4000 }, (_, i) => mix(i, o.records));
  const rounds: Record<keyof typeof roots, Round[]> = { before: [], after: [] };
  for (let round = 1; round <= o.rounds; round++) {
    const bare = await startProcess([path.join(packageRoot, "dist", "bench", "bare-server.js")], /listening (\d+)/);
    writeRequests(requestsFile, bare.port, datasets.after, bodies);
    const ceiling = await wrkLoad(`http://127.0.0.1:${bare.port}`, o.connections, o.duration, requestsFile);
    await bare.stop();
    // The first server of a round has been measured faster on a shared machine: the order alternates.
    const order = round % 2 === 1 ? (["before", "after"] as const) : (["after", "before"] as const);
    for (const which of order) {
      const d = datasets[which];
      const server = await startProcess(
        [
          path.join(roots[which], "bin", "sanyao.js"),
          "serve",
          "--data",
          freshInstallation(d.dataDir, path.join(tmp, `${which}-data`)),
          "--port",
          "0",
        ],
        /at http:\/\/127\.0\.0\.1:(\d+)\//,
        { SANYAO_LOG_LEVEL: "info" },
        path.join(tmp, `${which}.log`),
      );
      await checkMix(server.port, d, bodies); // warms the server up, and fails loudly on a wrong answer
      writeRequests(requestsFile, server.port, d, bodies);
      if (o.warmup > 0) await wrkLoad(`http://127.0.0.1:${server.port}`, o.connections, o.warmup, requestsFile);
      const cpu0 = threadCpuSeconds(server.child.pid!);
      const load = await wrkLoad(`http://127.0.0.1:${server.port}`, o.connections, o.duration, requestsFile);
      const cpu1 = threadCpuSeconds(server.child.pid!);
      await server.stop();
      if (load.errors > 0) throw new Error(`${which}: ${load.errors} error answers`);
      const us = (s: number) => (s * 1e6) / Math.max(1, load.total);
      const r = { rps: load.rps, ratio: load.rps / ceiling.rps, mainUs: us(cpu1.main - cpu0.main), otherUs: us(cpu1.others - cpu0.others) };
      rounds[which].push(r);
      log(
        `round ${round} ${which}: ${Math.round(r.rps)} req/s, ${r.ratio.toFixed(3)}× bare, main ${r.mainUs.toFixed(0)} µs, other threads ${r.otherUs.toFixed(0)} µs`,
      );
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const row = (name: string, rs: Round[]) =>
    `| ${name} | ${Math.round(median(rs.map((r) => r.rps)))} | ${median(rs.map((r) => r.ratio)).toFixed(3)}× | ${median(rs.map((r) => r.mainUs)).toFixed(1)} | ${median(rs.map((r) => r.otherUs)).toFixed(1)} |`;
  process.stdout.write(
    [
      `medians of ${o.rounds} alternating rounds, ${o.duration} s each${o.warmup > 0 ? ` after ${o.warmup} s of warm-up` : ""}, ${o.connections} connections, ${o.records.toLocaleString()} records:`,
      "",
      "| server | req/s | × bare node:http | main thread µs / request | other threads µs / request |",
      "|---|---|---|---|---|",
      row(`before (${path.basename(roots.before)})`, rounds.before),
      row("after (this checkout)", rounds.after),
      "",
    ].join("\n"),
  );
}

const program = new Command("bench:ab")
  .description("alternate the saturated phase between an earlier checkout's server and this one (127.0.0.1 only, needs wrk)")
  .requiredOption("--before <dir>", "an earlier checkout, built (npx tsc -p .), with node_modules")
  .option("--rounds <n>", "rounds; each runs both servers once", (v) => Number(v), 3)
  .option("--records <n>", "synthetic records in the store", (v) => Number(v), 200_000)
  .option("--connections <n>", "concurrent connections", (v) => Number(v), 64)
  .option("--duration <s>", "seconds per server and round", (v) => Number(v), 8)
  .option("--warmup <s>", "seconds of saturated load before each counted phase (0: the answer check only)", (v) => Number(v), 0)
  .action((o: Options) => main(o))
  .showHelpAfterError();
program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`bench:ab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
