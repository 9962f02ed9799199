/**
 * `npm run bench`: the signed PhoneVerification path against a bare node:http server and against the floor
 * (floor-server.ts), in one run on one machine. Every server and the load generator are separate processes on
 * 127.0.0.1; each phase is bounded in time.
 */
import { Command, Option } from "commander";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { encryptRequestFields } from "../src/client/field-encryption";
import { KmsClient } from "../src/client/kms";
import { openInstallation } from "../src/app/installation";
import { loadConfig } from "../src/app/config";
import { packageRoot } from "../src/common/paths";
import { RecordsSource } from "../src/sources/records";
import { floorPhase, floorTable } from "./floor";
import { freshInstallation } from "./fresh";
import { defaultPolicy } from "../src/rules/policy";
import { chinaDate, precheck } from "../src/rules/precheck";
import { loadRuleTables } from "../src/rules/tables";
import { summariseProfile } from "./profile";
import { stageTable, type StageTable } from "./stages";
import { ensureDataset, person } from "./dataset";
import { checkMix, mix, writeRequests } from "./requests";
import { cpuSeconds, peakRssMiB, processTree, startProcess, threadCpuSeconds, type Started } from "./proc";
import { wrkAvailable, wrkLoad } from "./wrk";

/** wrk when it is installed (apt-get install wrk): it leaves more of the shared cores to the server. */
const GENERATOR = wrkAvailable() ? "wrk" : "autocannon";

const run = promisify(execFile);
const DIST = path.join(packageRoot, "dist", "bench");
const log = (line: string) => process.stderr.write(`${line}\n`);

/** One load phase as every generator reports it. */
export interface Load {
  rps: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface Measured extends Load {
  cpuMsPer1000: number;
  peakRssMiB: number;
}

interface Options {
  profile?: boolean;
  records: number;
  connections: number;
  duration: number;
  workers: number;
  big: boolean;
  /** the package whose server is measured: this one, or an earlier checkout for a before-and-after */
  serverRoot: string;
  lookupsOnly?: boolean;
  /** run only this phase (and the profiled one, with --profile) */
  only?: "floor";
  /** rounds of the floor phase */
  rounds: number;
  /** requests a second of the floor phase's paced load */
  pacedRate: number;
}

async function load(url: string, o: Options, requestsFile?: string): Promise<Load> {
  if (GENERATOR === "wrk") return wrkLoad(url, o.connections, o.duration, requestsFile);
  const spec = { url, connections: o.connections, durationSeconds: o.duration, requestsFile };
  const { stdout } = await run(process.execPath, [path.join(DIST, "load.js"), JSON.stringify(spec)], { timeout: (o.duration + 60) * 1000 });
  return JSON.parse(stdout) as Load;
}

async function pacedLoad(url: string, o: Options, requestsFile: string, rate: number): Promise<Load> {
  if (GENERATOR === "wrk") return wrkLoad(url, o.connections, o.duration, requestsFile, rate);
  const spec = { url, rate, durationSeconds: o.duration, connections: o.connections, requestsFile };
  const { stdout } = await run(process.execPath, [path.join(DIST, "paced.js"), JSON.stringify(spec)], {
    timeout: (o.duration + 60) * 1000,
  });
  return JSON.parse(stdout) as Load;
}

async function measure(server: Started, o: Options, requestsFile?: string, rate?: number): Promise<Measured> {
  const pids = processTree(server.child.pid!);
  const cpuBefore = cpuSeconds(pids);
  const url = `http://127.0.0.1:${server.port}`;
  // Paced load: wrk with a pause per connection; without wrk, an open-loop Node sender (autocannon's overallRate
  // times latency from its own queue, not from when a request was due).
  const result = rate ? await pacedLoad(url, o, requestsFile!, rate) : await load(url, o, requestsFile);
  const cpu = cpuSeconds(processTree(server.child.pid!)) - cpuBefore;
  return {
    ...result,
    cpuMsPer1000: (cpu * 1000 * 1000) / Math.max(1, result.total),
    peakRssMiB: peakRssMiB(processTree(server.child.pid!)),
  };
}

async function lookupLatency(records: number): Promise<{ records: number; p50us: number; p99us: number }> {
  // In-process, with this package's store: on a data set of this package's own.
  const d = await ensureDataset(records, packageRoot, log);
  const inst = await openInstallation(loadConfig({ dataDir: d.dataDir }, {}));
  const source = new RecordsSource(inst.store.records, inst.keyring);
  // Warm up on other people first: a server that has been up a while has the B-tree's upper pages cached.
  for (let i = 0; i < 20_000; i++) {
    const p = person((i * 7919 + 1) % records);
    await source.verify({ phone: p.phone, name: p.name, idCard: p.idcard });
  }
  const samples: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const p = person((i * 104729) % records);
    const t = process.hrtime.bigint();
    await source.verify({ phone: p.phone, name: p.name, idCard: p.idcard });
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  await inst.store.close();
  samples.sort((a, b) => a - b);
  return { records, p50us: samples[Math.floor(samples.length * 0.5)]!, p99us: samples[Math.floor(samples.length * 0.99)]! };
}

async function lookupsOnly(o: Options): Promise<void> {
  const sizes = [10_000, o.records, ...(o.big ? [10_000_000] : [])];
  for (const n of sizes) {
    const l = await lookupLatency(n);
    process.stdout.write(`lookup with ${l.records.toLocaleString()} records: p50 ${l.p50us.toFixed(1)} µs, p99 ${l.p99us.toFixed(1)} µs\n`);
  }
}

async function main(o: Options): Promise<void> {
  if (o.lookupsOnly) return lookupsOnly(o);
  const started = new Date();
  const dataset = await ensureDataset(o.records, o.serverRoot, log);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-bench-"));
  const serverLog = path.join(tmp, "server.log");
  const serverEnv = { SANYAO_LOG_LEVEL: "info" };
  const profileDir = path.join(tmp, "profile");
  let starts = 0;
  const sanyao = (workers: number, profile = false) =>
    startProcess(
      [
        ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
        path.join(o.serverRoot, "bin", "sanyao.js"),
        "serve",
        "--data",
        freshInstallation(dataset.dataDir, path.join(tmp, `installation-${++starts}`)),
        "--port",
        "0",
        "--workers",
        String(workers),
      ],
      /at http:\/\/127\.0\.0\.1:(\d+)\//,
      serverEnv,
      serverLog,
    );

  const bodies = Array.from({ length: 4000 }, (_, i) => mix(i, o.records));
  const plainFile = path.join(tmp, "plain.json");
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  const floorOf = () =>
    floorPhase({
      rounds: o.rounds,
      dataset,
      bodies,
      tmp,
      startSanyao: () => sanyao(1),
      load: (url, requestsFile) => load(url, o, requestsFile),
      paced: (url, requestsFile, rate) => pacedLoad(url, o, requestsFile, rate),
      pacedRate: o.pacedRate,
      log,
    });
  const profiled = async (): Promise<Profiled> => {
    log("the same mix once more, under the CPU profiler …");
    const server = await sanyao(1, true);
    writeRequests(plainFile, server.port, dataset, bodies);
    const before = threadCpuSeconds(server.child.pid!);
    const load = await measure(server, o, plainFile);
    const after = threadCpuSeconds(server.child.pid!);
    await server.stop();
    const usPerRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, load.total);
    const mainUs = usPerRequest(after.main - before.main);
    const file = path.join(profileDir, fs.readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"))!);
    return {
      rps: load.rps,
      mainThreadUs: mainUs,
      otherThreadsUs: usPerRequest(after.others - before.others),
      table: stageTable(file, mainUs),
      functions: summariseProfile(file),
    };
  };
  const write = (result: object): string => {
    fs.mkdirSync(path.join(packageRoot, "bench", "results"), { recursive: true });
    const out = path.join(packageRoot, "bench", "results", `${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(out, JSON.stringify(result, null, 2));
    fs.rmSync(tmp, { recursive: true, force: true });
    return out;
  };

  if (o.only === "floor") {
    log(`the floor and sanyao, ${o.rounds} alternating rounds, ${o.connections} connections, ${o.duration} s each …`);
    const floor = await floorOf();
    const profile = o.profile ? await profiled() : undefined;
    const out = write({ when: started.toISOString(), machine, options: o, generator: GENERATOR, floor, profile });
    process.stdout.write(
      `${[machineLine(machine, GENERATOR), "", ...floorTable(floor), "", `written to ${path.relative(process.cwd(), out)}`].join("\n")}\n`,
    );
    if (profile) printProfile(profile);
    return;
  }

  // The ceiling gets the very same signed requests, so the load generator does the same work in both.
  log(`bare node:http, ${o.connections} connections, ${o.duration} s …`);
  const bareServer = await startProcess([path.join(DIST, "bare-server.js")], /listening (\d+)/);
  writeRequests(plainFile, bareServer.port, dataset, bodies);
  const bare = await measure(bareServer, o, plainFile);
  await bareServer.stop();

  let server = await sanyao(1);
  const mixSeen = await checkMix(server.port, dataset, bodies);
  writeRequests(plainFile, server.port, dataset, bodies);
  log(`PhoneVerification, simple mode, mix ${JSON.stringify(mixSeen)} …`);
  const full = await measure(server, o, plainFile);
  log(`the same paced at half that rate (${Math.round(full.rps / 2)}/s) …`);
  writeRequests(plainFile, server.port, dataset, bodies);
  const paced = await measure(server, o, plainFile, Math.round(full.rps / 2));

  log("the same with encrypted fields …");
  const kms = new KmsClient({ credential: dataset, endpoint: `http://127.0.0.1:${server.port}`, region: "ap-guangzhou" });
  const dataKey = await kms.dataKey((await kms.createKey({ Alias: `bench-${Date.now()}` })).KeyId);
  kms.close();
  // A client encrypts what it has validated: an AES-256-CBC field that opens to a malformed value answers as one that
  // does not open, and counts against the key's decryption-failure budget (docs/security-and-privacy.md). The malformed tenth goes plain.
  const tables = loadRuleTables();
  const today = chinaDate(Date.now());
  const wellFormed = (b: (typeof bodies)[number]) =>
    precheck({ phone: b.Phone, name: b.Name, idCard: b.IdCard }, tables, defaultPolicy, today).kind !== "rejected";
  const encryptedBodies = bodies.map((b) => (wellFormed(b) ? encryptRequestFields(b, dataKey, ["IdCard", "Name", "Phone"]) : b));
  const encryptedMix = await checkMix(server.port, dataset, encryptedBodies);
  assertSameMix(mixSeen, encryptedMix);
  const encryptedFile = path.join(tmp, "encrypted.json");
  writeRequests(encryptedFile, server.port, dataset, encryptedBodies);
  const encrypted = await measure(server, o, encryptedFile);
  await server.stop();

  log(`the floor and sanyao, ${o.rounds} alternating rounds …`);
  const floor = await floorOf();

  const profile = o.profile ? await profiled() : undefined;

  log(`--workers ${o.workers} …`);
  server = await sanyao(o.workers);
  writeRequests(plainFile, server.port, dataset, bodies);
  const workers = await measure(server, o, plainFile);
  await server.stop();

  log("lookup latency …");
  const lookups = [await lookupLatency(10_000), await lookupLatency(o.records)];
  if (o.big) lookups.push(await lookupLatency(10_000_000));

  const result = {
    when: started.toISOString(),
    machine,
    options: o,
    note: "server and load generator share the machine's cores",
    generator: GENERATOR,
    importSeconds: dataset.importSeconds,
    mix: mixSeen,
    bare,
    full,
    ratio: full.rps / bare.rps,
    paced: { ...paced, targetRps: Math.round(full.rps / 2) },
    encrypted,
    workers: { ...workers, n: o.workers, scaling: workers.rps / full.rps },
    floor,
    lookups,
    profile,
  };
  const out = write(result);
  printTable(result, out);
  process.stdout.write(`\n${floorTable(floor).join("\n")}\n`);
  if (profile) printProfile(profile);
}

interface Profiled {
  rps: number;
  /** CPU µs per request of the main thread and of all other threads (writer thread, GC helpers, libuv pool) */
  mainThreadUs: number;
  otherThreadsUs: number;
  table: StageTable;
  functions: string[];
}

function printProfile(p: Profiled): void {
  const lines = [
    "",
    `CPU per request by stage, main thread (profiled phase: ${Math.round(p.rps)} req/s under the profiler):`,
    "",
    "| stage | µs / request | share |",
    "|---|---|---|",
    ...p.table.stages.map((s) => `| ${s.stage} | ${s.us.toFixed(1)} | ${(s.share * 100).toFixed(1)} % |`),
    `| **main thread, total** | **${p.mainThreadUs.toFixed(1)}** | |`,
    `| other threads (SQLite writer, GC and compiler helpers, libuv) | ${p.otherThreadsUs.toFixed(1)} | |`,
    "",
    ...p.functions,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

function machineLine(machine: { cpus: number; model?: string }, generator: string): string {
  return `machine: ${machine.cpus} × ${machine.model ?? "?"}; server and load generator (${generator}${generator === "wrk" ? "" : "; paced: its own sender"}) share it`;
}

function assertSameMix(a: Record<string, number>, b: Record<string, number>): void {
  if (JSON.stringify(Object.entries(a).sort()) !== JSON.stringify(Object.entries(b).sort())) {
    throw new Error(`encrypted answers differ from plaintext: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
}

function printTable(
  r: {
    bare: Measured;
    full: Measured;
    paced: Measured & { targetRps: number };
    encrypted: Measured;
    workers: Measured & { n: number; scaling: number };
    ratio: number;
    lookups: Array<{ records: number; p50us: number; p99us: number }>;
    machine: { cpus: number; model?: string };
    generator: string;
  },
  out: string,
): void {
  const row = (name: string, m: Measured) =>
    `| ${name} | ${Math.round(m.rps)} | ${m.p50} | ${m.p99} | ${m.cpuMsPer1000.toFixed(0)} | ${m.peakRssMiB.toFixed(0)} | ${m.non2xx + m.errors + m.timeouts} |`;
  const lines = [
    machineLine(r.machine, r.generator),
    "",
    "| scenario | req/s | p50 ms | p99 ms | server CPU ms / 1000 req | peak RSS MiB | errors |",
    "|---|---|---|---|---|---|---|",
    row("bare node:http", r.bare),
    row("PhoneVerification (1 process)", r.full),
    row(`same, paced at ${r.paced.targetRps}/s`, r.paced),
    row("encrypted fields", r.encrypted),
    row(`--workers ${r.workers.n}`, r.workers),
    "",
    `full path / bare node:http: ${r.ratio.toFixed(2)}×; --workers ${r.workers.n} / 1 process: ${r.workers.scaling.toFixed(2)}×`,
    ...r.lookups.map(
      (l) => `lookup with ${l.records.toLocaleString()} records: p50 ${l.p50us.toFixed(1)} µs, p99 ${l.p99us.toFixed(1)} µs`,
    ),
    "",
    `written to ${path.relative(process.cwd(), out)}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

const program = new Command("bench")
  .description("benchmark the signed PhoneVerification path against bare node:http and the floor (127.0.0.1 only)")
  .option("--records <n>", "synthetic records in the store", (v) => Number(v), 1_000_000)
  .option("--connections <n>", "concurrent connections of the load generator", (v) => Number(v), 64)
  .option("--duration <s>", "seconds per phase", (v) => Number(v), 10)
  .option("--workers <n>", "server processes for the scaling phase", (v) => Number(v), 2)
  .option("--profile", "record a CPU profile of the single-process server and print where its time goes")
  .option("--big", "also measure lookups with 10,000,000 records (builds a ~2 GB cache once)")
  .option("--lookups-only", "only the lookup latencies (with --big: 10,000,000 records too)")
  .addOption(
    new Option("--only <phase>", "run only this phase: floor (sanyao against the floor; with --profile, then the profiled phase)").choices([
      "floor",
    ]),
  )
  .option("--rounds <n>", "alternating rounds of the floor phase (floor, sanyao, and bare node:http for reference)", (v) => Number(v), 3)
  .option(
    "--paced-rate <n>",
    "requests a second offered to each server of the floor phase after its saturated load (about half sanyao's saturated rate on 2 vCPU)",
    (v) => Number(v),
    2000,
  )
  .option("--server-root <dir>", "measure the server of another checkout (built, with node_modules) against the same load", packageRoot)
  .action((o: Options) => main(o))
  .showHelpAfterError();
program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
