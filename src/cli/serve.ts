/** `sanyao serve`: first start prepares the demo, every start prints how to call it; --workers forks a cluster. */
import cluster from "node:cluster";
import os from "node:os";
import { loadConfig, type ConfigOverrides } from "../config";
import { ensureDemo, type DemoCredentials } from "../demo";
import { openInstallation } from "../installation";
import { IpcLimits, serveLimits } from "../limits/ipc";
import { startServer } from "../server";

const STOP_HINT = "Logs are JSON lines on stdout. Stop with Ctrl-C or SIGTERM: requests in flight are answered first.";

function banner(url: string, dataFlag: string, demo: DemoCredentials | undefined, fresh: boolean, workers: number): string {
  const processes = workers > 1 ? ` (${workers} worker processes)` : "";
  if (!demo) {
    // Scale-out mode has no demo: accounts and keys are the operator's (sanyao accounts create, keys create).
    return `\nsanyao is serving Tencent Cloud FaceID PhoneVerification at ${url}/${processes} (scale-out: PostgreSQL${
      process.env.SANYAO_REDIS_URL ? " + Redis" : ""})\nProbes: ${url}/healthz ${url}/readyz ${url}/metrics\n${STOP_HINT}\n`;
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
    `sanyao is serving Tencent Cloud FaceID PhoneVerification at ${url}/${processes}`,
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
    "",
    STOP_HINT,
    "",
  ]
    .filter((l, i, all) => l !== "" || all[i - 1] !== "")
    .join("\n");
}

export interface ServeOptions extends ConfigOverrides {
  /** 1: this process serves; N > 1: N worker processes share the port; 0: one per core */
  workers: number;
}

export async function serve(options: ServeOptions, dataFlag: string): Promise<void> {
  if (cluster.isWorker) return serveAsWorker(options);
  const config = loadConfig(options);
  const workers = options.workers === 0 ? os.availableParallelism() : options.workers;
  const installation = await openInstallation(config);
  const demo = installation.mode === "embedded" ? await ensureDemo(installation, config.accountDefaults) : undefined;
  if (workers <= 1) {
    const server = await startServer({ config, installation });
    process.stderr.write(banner(server.url, dataFlag, demo, installation.fresh, 1) + "\n");
    stopOnSignals(() => server.close());
    return;
  }

  // Primary: prepares the installation (above), keeps the counters unless Redis does, forks the workers.
  await installation.close();
  const countersHere = !config.redisUrl;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let announced = false;
  let stopping = false;
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork();
    if (countersHere) serveLimits(worker);
    worker.on("message", (msg: { sanyaoListening?: number }) => {
      if (msg?.sanyaoListening !== undefined && !announced) {
        announced = true;
        const url = `http://${host}:${msg.sanyaoListening}`;
        process.stderr.write(banner(url, dataFlag, demo, installation.fresh, workers) + "\n");
      }
    });
  }
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(`sanyao: worker ${worker.process.pid} stopped (${signal ?? code}); starting another\n`);
    const replacement = cluster.fork();
    if (countersHere) serveLimits(replacement);
  });
  stopOnSignals(async () => {
    stopping = true;
    await new Promise<void>((resolve) => cluster.disconnect(() => resolve()));
  });
}

async function serveAsWorker(options: ServeOptions): Promise<void> {
  const config = loadConfig(options);
  const limits = config.redisUrl ? undefined : new IpcLimits();
  const server = await startServer({ config, limits: limits && { rate: limits, daily: limits } });
  process.send!({ sanyaoListening: server.port });
  // The primary disconnects its workers to stop them: finish what is in flight, then leave.
  process.on("disconnect", () => void server.close().then(() => process.exit(0)));
  process.on("SIGTERM", () => undefined);
  process.on("SIGINT", () => undefined);
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


