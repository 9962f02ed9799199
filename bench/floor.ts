/**
 * The floor phase of `npm run bench` (issue 22): sanyao against the floor (floor-server.ts, the least a Node process
 * must do to answer the same signed calls honestly), on the same records and the same signed requests, saturated,
 * round after round with the order alternating (as bench:ab does: the first server of a round has been measured
 * faster on a shared machine), with the bare node:http hello in each round for reference.
 */
import os from "node:os";
import path from "node:path";
import { TencentCloudError } from "../src/client/errors";
import { FaceIdClient, type PhoneVerificationRequest } from "../src/client/faceid";
import type { Dataset } from "./dataset";
import { startProcess, threadCpuSeconds, type Started } from "./proc";
import { writeRequests } from "./requests";
import type { Load } from "./run";

export interface FloorFigure {
  rps: number;
  p50: number;
  p99: number;
  /** CPU µs per request of the server's main thread, and of its other threads together */
  mainUs: number;
  otherUs: number;
  /** requests unanswered within the generator's timeout (a loaded machine can stall a server that long) */
  timeouts: number;
  /** the same server right after, paced at the phase's paced rate: latencies in ms */
  paced: { rps: number; p50: number; p99: number };
}

export interface FloorRound {
  round: number;
  order: Array<"floor" | "sanyao">;
  /** the one-minute load average as the round began (the machine is shared) */
  loadAverage: number;
  bareRps: number;
  floor: FloorFigure;
  sanyao: FloorFigure;
  /** sanyao's req/s over the floor's */
  share: number;
}

export interface FloorPhase {
  rounds: FloorRound[];
  pacedRate: number;
  /** requests whose answers the two servers were compared on, per round */
  compared: number;
  median: { bareRps: number; floorRps: number; sanyaoRps: number; share: number; floorOverBare: number };
}

export interface FloorPhaseInput {
  rounds: number;
  dataset: Dataset;
  bodies: PhoneVerificationRequest[];
  /** a directory for the requests, the floor's ledger and its log */
  tmp: string;
  /** sanyao as the rest of the benchmark starts it (one process) */
  startSanyao: () => Promise<Started>;
  /** the saturated load of the benchmark's generator */
  load: (url: string, requestsFile: string) => Promise<Load>;
  /** the same requests offered at `rate` a second (the benchmark's paced load) */
  paced: (url: string, requestsFile: string, rate: number) => Promise<Load>;
  /** requests a second of the paced load, the same for both servers */
  pacedRate: number;
  log: (line: string) => void;
}

const DIST = path.join(__dirname);
/** requests whose answers are compared between the floor and sanyao in each round: every kind of the mix */
const COMPARED = 200;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

type Answer = { Result: string; Description: string; Isp: string } | { Error: string };

/** What a server answers to the first requests, through the project's client (this also warms the server up). */
async function answersOf(port: number, d: Dataset, bodies: readonly PhoneVerificationRequest[]): Promise<Answer[]> {
  const client = new FaceIdClient({ credential: d, endpoint: `http://127.0.0.1:${port}` });
  const answers: Answer[] = [];
  try {
    for (const params of bodies) {
      try {
        const r = await client.phoneVerification(params);
        answers.push({ Result: r.Result, Description: r.Description, Isp: r.Isp });
      } catch (err) {
        if (!(err instanceof TencentCloudError)) throw err;
        answers.push({ Error: err.code });
      }
    }
  } finally {
    client.close();
  }
  return answers;
}

/** Throws unless the floor answered every compared request as sanyao did (Result, Description, Isp). */
function assertSameAnswers(floor: readonly Answer[], sanyao: readonly Answer[]): void {
  const differ = floor.flatMap((a, i) => (JSON.stringify(a) === JSON.stringify(sanyao[i]) ? [] : [i]));
  if (differ.length === 0 && floor.length === sanyao.length) return;
  const first = differ[0] ?? 0;
  throw new Error(
    `the floor answers ${differ.length} of ${floor.length} requests unlike sanyao, first request #${first}: floor ${JSON.stringify(floor[first])}, sanyao ${JSON.stringify(sanyao[first])}`,
  );
}

export async function floorPhase(input: FloorPhaseInput): Promise<FloorPhase> {
  const { dataset, bodies, tmp, log } = input;
  const requestsFile = path.join(tmp, "floor-requests.json");
  const sample = bodies.slice(0, COMPARED);
  const floorSpec = {
    dataDir: dataset.dataDir,
    secretId: dataset.secretId,
    secretKey: dataset.secretKey,
    ledgerFile: path.join(tmp, "floor-ledger.db"),
    logFile: path.join(tmp, "floor.log"),
  };
  const starters = {
    floor: () => startProcess([path.join(DIST, "floor-server.js"), JSON.stringify(floorSpec)], /listening (\d+)/),
    sanyao: input.startSanyao,
  };

  const rounds: FloorRound[] = [];
  for (let round = 1; round <= input.rounds; round++) {
    const loadAverage = os.loadavg()[0] ?? Number.NaN;
    const bare = await startProcess([path.join(DIST, "bare-server.js")], /listening (\d+)/);
    writeRequests(requestsFile, bare.port, dataset, bodies);
    const bareLoad = await input.load(`http://127.0.0.1:${bare.port}`, requestsFile);
    await bare.stop();

    const order = round % 2 === 1 ? (["floor", "sanyao"] as const) : (["sanyao", "floor"] as const);
    const figures: Partial<Record<"floor" | "sanyao", FloorFigure>> = {};
    const answers: Partial<Record<"floor" | "sanyao", Answer[]>> = {};
    for (const which of order) {
      const server = await starters[which]();
      try {
        answers[which] = await answersOf(server.port, dataset, sample);
        writeRequests(requestsFile, server.port, dataset, bodies);
        const pid = server.child.pid ?? 0;
        const cpu0 = threadCpuSeconds(pid);
        const load = await input.load(`http://127.0.0.1:${server.port}`, requestsFile);
        const cpu1 = threadCpuSeconds(pid);
        if (load.errors + load.non2xx > 0) throw new Error(`${which}: ${load.errors} error answers and ${load.non2xx} non-2xx under load`);
        const paced = await input.paced(`http://127.0.0.1:${server.port}`, requestsFile, input.pacedRate);
        if (paced.errors + paced.non2xx > 0) throw new Error(`${which}: ${paced.errors} error answers and ${paced.non2xx} non-2xx paced`);
        const us = (s: number) => (s * 1e6) / Math.max(1, load.total);
        figures[which] = {
          rps: load.rps,
          p50: load.p50,
          p99: load.p99,
          mainUs: us(cpu1.main - cpu0.main),
          otherUs: us(cpu1.others - cpu0.others),
          timeouts: load.timeouts,
          paced: { rps: paced.rps, p50: paced.p50, p99: paced.p99 },
        };
      } finally {
        await server.stop();
      }
    }
    const { floor, sanyao } = figures;
    if (!floor || !sanyao || !answers.floor || !answers.sanyao) throw new Error("a server of the round was not measured");
    assertSameAnswers(answers.floor, answers.sanyao);
    const r: FloorRound = { round, order: [...order], loadAverage, bareRps: bareLoad.rps, floor, sanyao, share: sanyao.rps / floor.rps };
    rounds.push(r);
    log(
      `floor round ${round} (${order.join(" first, ")} second, load ${loadAverage.toFixed(2)}): bare ${Math.round(r.bareRps)}, floor ${Math.round(floor.rps)}, sanyao ${Math.round(sanyao.rps)} req/s, sanyao at ${(r.share * 100).toFixed(0)} % of the floor; paced at ${input.pacedRate}/s, p99 floor ${floor.paced.p99.toFixed(1)} ms, sanyao ${sanyao.paced.p99.toFixed(1)} ms${floor.timeouts + sanyao.timeouts > 0 ? ` (timeouts: floor ${floor.timeouts}, sanyao ${sanyao.timeouts})` : ""}`,
    );
  }
  return {
    rounds,
    pacedRate: input.pacedRate,
    compared: sample.length,
    median: {
      bareRps: median(rounds.map((r) => r.bareRps)),
      floorRps: median(rounds.map((r) => r.floor.rps)),
      sanyaoRps: median(rounds.map((r) => r.sanyao.rps)),
      share: median(rounds.map((r) => r.share)),
      floorOverBare: median(rounds.map((r) => r.floor.rps / r.bareRps)),
    },
  };
}

export function floorTable(p: FloorPhase): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  return [
    `sanyao against the floor (same records and signed requests, saturated; ${p.compared} answers compared per round, all alike):`,
    ...timeoutNote(p),
    "",
    `| round | first | load avg | bare req/s | floor req/s | sanyao req/s | sanyao / floor | floor / bare | floor main / other µs | sanyao main / other µs | paced ${p.pacedRate}/s p99 ms: floor / sanyao |`,
    "|---|---|---|---|---|---|---|---|---|---|---|",
    // each column's median on its own (the ratios' too, not a ratio of medians)
    ...p.rounds.map(
      (r) =>
        `| ${r.round} | ${r.order[0]} | ${r.loadAverage.toFixed(2)} | ${Math.round(r.bareRps)} | ${Math.round(r.floor.rps)} | ${Math.round(r.sanyao.rps)} | ${pct(r.share)} | ${(r.floor.rps / r.bareRps).toFixed(2)}× | ${r.floor.mainUs.toFixed(0)} / ${r.floor.otherUs.toFixed(0)} | ${r.sanyao.mainUs.toFixed(0)} / ${r.sanyao.otherUs.toFixed(0)} | ${r.floor.paced.p99.toFixed(1)} / ${r.sanyao.paced.p99.toFixed(1)} |`,
    ),
    `| median | | | ${Math.round(p.median.bareRps)} | ${Math.round(p.median.floorRps)} | ${Math.round(p.median.sanyaoRps)} | ${pct(p.median.share)} | ${p.median.floorOverBare.toFixed(2)}× | | | ${median(p.rounds.map((r) => r.floor.paced.p99)).toFixed(1)} / ${median(p.rounds.map((r) => r.sanyao.paced.p99)).toFixed(1)} |`,
  ];
}

function timeoutNote(p: FloorPhase): string[] {
  const n = p.rounds.reduce((sum, r) => sum + r.floor.timeouts + r.sanyao.timeouts, 0);
  return n > 0 ? [`(${n} requests timed out across the rounds: the machine was too loaded for these figures to mean much)`] : [];
}
