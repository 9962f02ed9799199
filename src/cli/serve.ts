/**
 * `sanyao serve`: first start prepares the demo (unless --no-demo), every start prints how to call it while the demo
 * key is enabled; --workers forks a cluster.
 */
import cluster from "node:cluster";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Config, type ConfigOverrides, loadConfig, servingProcesses } from "../app/config";
import { prepareDemo, type DemoCredentials } from "../app/demo";
import { openInstallation, type Installation } from "../app/installation";
import { checkPortsFree, holdListeners } from "../app/listeners";
import { applySeed, type SeedReport } from "../seed/apply";
import { readSeed, type Seed, seedRules } from "../seed/read";
import { seedLines } from "./seed-lines";
import { adminTokenFor, adminTokenPath } from "../operations/admin-token";
import { IpcLimits, serveLimits } from "../limits/ipc";
import { MemorySeenOnce } from "../limits/seen-once";
import { MemoryActiveMembers, MemoryDailyCounter, MemoryOpeningJudge, MemoryRateLimiter, MemorySpendCounter } from "../limits/memory";
import { startServer, type RunningServer } from "../app/server";

const STOP_HINT = "Logs are JSON lines on stdout. Stop with Ctrl-C or SIGTERM: requests in flight are answered first.";

/** The operator token, printed once: at the start that made it. `opsUrl`: where the operations API answers. */
function tokenLines(opsUrl: string, created: string | undefined, dataDir: string | undefined): string[] {
  if (!created || !dataDir) return [];
  return [
    "",
    `Operations API token (kept in ${adminTokenPath(dataDir)}, mode 0600; printed only now):`,
    `  ${created}`,
    `  e.g. curl -H "Authorization: Bearer ${created}" ${opsUrl}/_sanyao/requests`,
  ];
}

/** The operations listener, when it is apart from the public one. */
function opsLines(url: string, opsUrl: string): string[] {
  return opsUrl === url ? [] : [`Operations API and metrics: ${opsUrl}/_sanyao/ and ${opsUrl}/metrics (not on the public listener)`];
}

/** A wildcard listener (0.0.0.0, ::) is reached from this machine at loopback: the sample calls use that address. */
function reachable(url: string): { shown: string; call: string } {
  const wildcard = /^http:\/\/(0\.0\.0\.0|\[::\])(:\d+)$/.exec(url);
  if (!wildcard) return { shown: `${url}/`, call: url };
  const loopback = wildcard[1] === "[::]" ? "[::1]" : "127.0.0.1";
  return { shown: `${url}/ (every interface)`, call: `http://${loopback}${wildcard[2] ?? ""}` };
}

function banner(
  listening: string,
  dataFlag: string,
  installation: Pick<Installation, "mode" | "fresh" | "sharedLimits">,
  demo: DemoCredentials | undefined,
  workers: number,
  token: string[] = [],
  ops: string[] = [],
): string {
  const { fresh } = installation;
  const { shown, call: url } = reachable(listening);
  const processes = workers > 1 ? ` (${workers} worker processes)` : "";
  if (!demo) {
    // No demo key to show: scale-out mode has none, and an embedded installation may go without (--no-demo) or have
    // had its demo key disabled. Accounts and keys are the operator's.
    const mode = installation.mode === "scale-out" ? ` (scale-out: PostgreSQL${installation.sharedLimits ? " + Redis" : ""})` : "";
    const probes =
      ops.length > 0 ? [`Probes: ${url}/healthz ${url}/readyz`, ...ops] : [`Probes: ${url}/healthz ${url}/readyz ${url}/metrics`];
    return [
      "",
      `sanyao is serving Tencent Cloud FaceID PhoneVerification at ${shown}${processes}${mode}`,
      fresh ? "First start: created the data directory and the installation secret." : "",
      `Accounts and keys: npx sanyao accounts create${dataFlag} --name NAME, then npx sanyao keys create${dataFlag} --account ID`,
      ...probes,
      ...token,
      "",
      STOP_HINT,
      "",
    ]
      .filter((l, i, all) => l !== "" || all[i - 1] !== "")
      .join("\n");
  }
  const endpoint = url.replace(/^http:\/\//, "");
  const sdk = [
    `const tencentcloud = require("tencentcloud-sdk-nodejs");`,
    `const client = new tencentcloud.faceid.v20180301.Client({`,
    `  credential: { secretId: "${demo.secretId}", secretKey: "${demo.secretKey}" },`,
    `  region: "ap-guangzhou",`,
    `  profile: { httpProfile: { endpoint: "${endpoint}", protocol: "http://" } },`,
    `});`,
    `client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" }).then(console.log);`,
  ];
  return [
    "",
    `sanyao is serving Tencent Cloud FaceID PhoneVerification at ${shown}${processes}`,
    fresh ? "First start: created the data directory, installation secret, demo account, key and records." : "",
    "",
    "Demo key (account demo):",
    `  SecretId:  ${demo.secretId}`,
    `  SecretKey: ${demo.secretKey}`,
    "",
    "Try it from another terminal in this directory:",
    `  npx sanyao verify${dataFlag} --endpoint ${url} --phone 13800001234 --name 张三 --idcard 110105199003072143`,
    "",
    "or with the official Node SDK (node, then paste):",
    ...sdk.map((l) => `  ${l}`),
    ...(ops.length > 0 ? ["", ...ops] : []),
    ...token,
    "",
    STOP_HINT,
    "",
  ]
    .filter((l, i, all) => l !== "" || all[i - 1] !== "")
    .join("\n");
}

export type ServeOptions = ConfigOverrides;

/** What a start prepares before it serves: the installation, its demo, and the seed applied to it. */
interface Prepared {
  installation: Installation;
  demo: DemoCredentials | undefined;
  seeded: SeedReport | undefined;
  /** the seed's report, as lines for the banner */
  seedText: string[];
}

/** Opens (or makes) the installation, prepares the demo and applies the seed; on a failure closes what it opened. */
async function prepare(config: Config, seed: Seed | undefined, onFailure: () => void): Promise<Prepared> {
  let installation: Installation | undefined;
  try {
    installation = await openInstallation(config);
    const demo =
      installation.mode === "embedded" ? await prepareDemo(installation, config.accountDefaults, { make: config.demo }) : undefined;
    const seeded = seed && (await applySeed(installation, seed, { defaults: config.accountDefaults, rules: seedRules(config) }));
    return { installation, demo, seeded, seedText: seeded ? seedLines(seeded) : [] };
  } catch (err) {
    onFailure();
    await installation?.close().catch(() => undefined);
    throw err;
  }
}

export async function serve(options: ServeOptions, dataFlag: string): Promise<void> {
  if (cluster.isWorker) return serveAsWorker(options);
  const config = loadConfig(options);
  const workers = servingProcesses(config);
  // The seed is read and checked before anything is made: a bad one is refused with nothing created.
  const seed = config.seed ? await readSeed(config.seed, seedRules(config)) : undefined;
  // The ports next: a start that cannot listen must not make an installation (whose operator token nobody would see).
  // Workers bind the port themselves, later: the primary checks it is free.
  const listeners = workers <= 1 ? await holdListeners(config) : undefined;
  if (!listeners) await checkPortsFree(config);
  const { installation, demo, seedText } = await prepare(config, seed, () => listeners?.abandon());
  if (listeners) {
    const server = await startServer({ config, installation, listeners }).catch(async (err: unknown) => {
      listeners.abandon();
      await installation.close().catch(() => undefined);
      throw err;
    });
    // Before the banner: whoever reads it may signal at once.
    stopOnSignals(() => server.close());
    const { created, token } = server.adminToken;
    const tokenText = tokenLines(server.opsUrl, created ? token : undefined, installation.dataDir);
    const ops = opsLines(server.url, server.opsUrl);
    process.stderr.write(`${banner(server.url, dataFlag, installation, demo, 1, [...seedText, ...tokenText], ops)}
`);
    return;
  }

  // Primary: prepares the installation (above), keeps the counters unless Redis does, forks the workers. The
  // daily counts it keeps are written to the embedded store, so it keeps that open.
  // Made here, before the workers start: each of them only reads it.
  const admin = adminTokenFor(config.adminToken, installation.dataDir, installation.fresh);
  const countersHere = !config.redisUrl;
  const limits = countersHere
    ? {
        rate: new MemoryRateLimiter(),
        daily: new MemoryDailyCounter(installation.dailyLog, config.dailyKeysInMemory),
        spend: new MemorySpendCounter(),
        active: new MemoryActiveMembers(),
        openings: new MemoryOpeningJudge(),
        seen: new MemorySeenOnce(),
      }
    : undefined;
  if (!countersHere) await installation.close();
  const urlOf = (host: string, port: number) => `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let announced = false;
  let stopping = false;
  const listening = new Set<number>();
  let failedStarts = 0;
  /** the worker that reads the records into the page cache at its start; should it stop, the next one started does */
  let reader: number | undefined;
  const fork = () => {
    const reads = reader === undefined;
    const worker = cluster.fork({ [READS_RECORDS]: reads ? "1" : "0" });
    if (reads) reader = worker.id;
    if (limits) serveLimits(worker, limits);
    worker.on("message", (msg: unknown) => {
      const ports = listeningPorts(msg);
      if (!ports) return;
      listening.add(worker.id);
      failedStarts = 0;
      if (announced) return;
      announced = true;
      const url = urlOf(config.host, ports.port);
      const opsUrl = config.ops ? urlOf(config.ops.host, ports.opsPort) : url;
      const tokenText = tokenLines(opsUrl, admin.created ? admin.token : undefined, installation.dataDir);
      process.stderr.write(`${banner(url, dataFlag, installation, demo, workers, [...seedText, ...tokenText], opsLines(url, opsUrl))}\n`);
    });
  };
  for (let i = 0; i < workers; i++) fork();
  const stopAll = async () => {
    stopping = true;
    await new Promise<void>((resolve) => cluster.disconnect(() => resolve()));
    if (countersHere) await installation.close();
  };
  cluster.on("exit", (worker, code, signal) => {
    if (worker.id === reader) reader = undefined;
    if (stopping) return;
    const how = signal ?? `exit code ${code}`;
    // A worker that dies before it serves is failing at start-up: retrying at once would only spin.
    const atStart = !listening.delete(worker.id);
    if (atStart && ++failedStarts >= WORKER_RESTARTS.giveUpAfter) {
      process.stderr.write(
        `sanyao: workers failed to start ${failedStarts} times in a row (last: ${how}); giving up. ` +
          "Their error is printed above; `sanyao serve` without --workers shows it alone.\n",
      );
      void stopAll().then(() => process.exit(1));
      return;
    }
    const delay = atStart ? Math.min(WORKER_RESTARTS.maxDelayMs, WORKER_RESTARTS.firstDelayMs * 2 ** (failedStarts - 1)) : 0;
    process.stderr.write(`sanyao: worker ${worker.process.pid} stopped (${how}); starting another${delay ? ` in ${delay} ms` : ""}\n`);
    setTimeout(() => !stopping && fork(), delay);
  });
  stopOnSignals(stopAll);
}

/** Set by the primary in the environment of the one worker that reads the records ahead (never by a user). */
const READS_RECORDS = "SANYAO_WORKER_READS_RECORDS";

/** A worker's "I serve" message: its public port and its operations port. */
function listeningPorts(msg: unknown): { port: number; opsPort: number } | undefined {
  if (typeof msg !== "object" || msg === null || !("sanyaoListening" in msg) || typeof msg.sanyaoListening !== "number") return undefined;
  const opsPort = "sanyaoOpsListening" in msg && typeof msg.sanyaoOpsListening === "number" ? msg.sanyaoOpsListening : msg.sanyaoListening;
  return { port: msg.sanyaoListening, opsPort };
}

/** Restarting workers that die before they serve: a doubling pause, and an end to it. */
const WORKER_RESTARTS = { firstDelayMs: 250, maxDelayMs: 4000, giveUpAfter: 5 };

async function serveAsWorker(options: ServeOptions): Promise<void> {
  const config = loadConfig(options);
  const limits = config.redisUrl ? undefined : new IpcLimits();
  let server: RunningServer;
  try {
    server = await startServer({
      config,
      // one read for the workers, which share the machine's page cache (and on PostgreSQL, the database's)
      recordsReadElsewhere:
        process.env[READS_RECORDS] === "1" ? undefined : "left to another worker of this server (its own line says how that went)",
      limits: limits && { rate: limits, daily: limits, spend: limits, active: limits, openings: limits, seen: limits },
    });
  } catch (err) {
    // The IPC channel would keep a failed worker alive: leave, so the primary sees it and decides.
    process.stderr.write(`sanyao: worker ${process.pid} could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.send?.({ sanyaoListening: server.port, sanyaoOpsListening: server.opsPort });
  // The primary disconnects its workers to stop them: finish what is in flight, then leave.
  process.on("disconnect", () => void server.close().then(() => process.exit(0)));
  process.on("SIGTERM", () => undefined);
  process.on("SIGINT", () => undefined);
}

/**
 * `serve --ephemeral`: a fresh installation in a temporary directory with the demo account, key and records, one
 * JSON line on stdout once it serves, and the directory removed when it stops (by signal, or by any exit).
 */
export async function serveEphemeral(options: {
  port: number;
  host: string;
  opsPort?: number;
  opsHost?: string;
  seed?: string;
}): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-ephemeral-"));
  const removeDir = () => fs.rmSync(dataDir, { recursive: true, force: true });
  process.on("exit", removeDir);
  const config = loadConfig({
    dataDir,
    port: options.port,
    host: options.host,
    opsPort: options.opsPort,
    opsHost: options.opsHost,
    seed: options.seed,
    demo: true,
  });
  const seed = config.seed ? await readSeed(config.seed, seedRules(config)) : undefined;
  const listeners = await holdListeners(config);
  const { installation, demo, seeded } = await prepare(config, seed, () => listeners.abandon());
  // A fresh directory: the demo is made now, so this holds.
  if (!demo) throw new Error("the ephemeral installation has no demo key");
  const server = await startServer({ config, installation, listeners });
  stopOnSignals(() => server.close());
  const ready = {
    sanyao: "ready",
    endpoint: server.url,
    secretId: demo.secretId,
    secretKey: demo.secretKey,
    accountId: demo.accountId,
    adminToken: server.adminToken.token,
    // only when the operations API has a listener of its own
    operations: server.opsUrl === server.url ? undefined : server.opsUrl,
    dataDir,
    pid: process.pid,
    // the applied seed (its generated keys with their SecretKeys), when one was given
    seed: seeded,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

function stopOnSignals(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`sanyao: ${signal}: answering the requests in flight, then stopping\n`);
    void close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`sanyao: the shutdown did not finish cleanly: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
