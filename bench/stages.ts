/**
 * Where a request's CPU time goes, stage by stage, from a V8 .cpuprofile of the server's main thread: each sample
 * is given to the innermost frame on its stack that belongs to a known stage (so time in node:crypto called from
 * the keyring counts as keyed hashes, time in pino as the log line), and the shares are scaled to the main
 * thread's CPU per request as /proc measured it, so the profiler's own cost is left out.
 */
import fs from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A stage, and how to recognise one of its frames: by file (a path fragment) and, optionally, function. */
interface StageRule {
  stage: string;
  file: string;
  functions?: readonly string[];
}

/** The stages of issue #11's table, in the order of one request. Earlier rules win for the same frame. */
export const STAGES = [
  "HTTP parse",
  "body read",
  "TC3 verify",
  "key and account lookup",
  "params",
  "routing and pipeline",
  "rules",
  "keyed hashes",
  "record lookup",
  "limits",
  "charge and audit commits (request thread)",
  "after-response hook",
  "log line",
  "metrics",
  "response",
  "action logic",
  "node:http and streams, other",
  "garbage collection",
  "other native and VM",
] as const;
type Stage = (typeof STAGES)[number];

const RULES: ReadonlyArray<StageRule & { stage: Stage }> = [
  // "": the reads the request path makes through its read snapshot (turn-snapshot.ts), closures without a name
  { stage: "record lookup", file: "/store/sqlite/tables.js", functions: ["find", "idCardHeldByOtherName", ""] },
  { stage: "record lookup", file: "/store/sqlite/turn-snapshot.js" },
  { stage: "record lookup", file: "/store/postgres/tables.js", functions: ["find", "idCardHeldByOtherName"] },
  { stage: "record lookup", file: "/sources/records.js" },
  { stage: "key and account lookup", file: "/store/fresh-cache.js" },
  { stage: "key and account lookup", file: "/store/storage.js", functions: ["resolve", "get"] },
  { stage: "key and account lookup", file: "/store/sqlite/tables.js" },
  { stage: "keyed hashes", file: "/common/keyring.js" },
  // The same stages under the file names of before #11's layout, so an earlier checkout profiles alike.
  { stage: "record lookup", file: "/store/sqlite.js", functions: ["findRecord", "idCardHeldByOtherName"] },
  { stage: "key and account lookup", file: "/store/sqlite.js", functions: ["resolveKey", "getAccount"] },
  { stage: "keyed hashes", file: "/src/secret.js" },
  { stage: "body read", file: "/api3/body.js" },
  { stage: "response", file: "/api3/http.js" },
  { stage: "log line", file: "/src/log.js" },
  { stage: "metrics", file: "/src/metrics.js" },
  { stage: "TC3 verify", file: "/api3/authenticate.js" },
  { stage: "TC3 verify", file: "/api3/tc3.js" },
  { stage: "TC3 verify", file: "/api3/v1.js" },
  { stage: "params", file: "/api3/params.js" },
  { stage: "routing and pipeline", file: "/api3/" },
  { stage: "body read", file: "/http/body.js" },
  { stage: "rules", file: "/rules/" },
  { stage: "limits", file: "/limits/" },
  { stage: "charge and audit commits (request thread)", file: "/store/" },
  { stage: "log line", file: "node_modules/pino" },
  { stage: "log line", file: "node_modules/sonic-boom" },
  { stage: "log line", file: "node_modules/fast-redact" },
  { stage: "log line", file: "node_modules/quick-format-unescaped" },
  { stage: "log line", file: "/http/log.js" },
  { stage: "metrics", file: "node_modules/prom-client" },
  { stage: "metrics", file: "/http/metrics.js" },
  { stage: "after-response hook", file: "/http/after-response.js" },
  { stage: "response", file: "node:_http_outgoing" },
  { stage: "response", file: "/http/handler.js" },
  { stage: "action logic", file: "/faceid/" },
  { stage: "action logic", file: "/kms/" },
  { stage: "HTTP parse", file: "node:_http_common" },
  { stage: "HTTP parse", file: "node:_http_incoming" },
  { stage: "HTTP parse", file: "node:_http_server", functions: ["parserOnIncoming", "socketOnData", "onParserExecute"] },
];

function stageOfFrame(frame: ProfileNode["callFrame"]): Stage | undefined {
  if (frame.functionName === "(garbage collector)") return "garbage collection";
  for (const rule of RULES) {
    if (!frame.url.includes(rule.file)) continue;
    if (rule.functions && !rule.functions.includes(frame.functionName)) continue;
    return rule.stage;
  }
  return undefined;
}

export interface StageTable {
  /** µs of main-thread CPU per request, by stage */
  stages: Array<{ stage: string; us: number; share: number }>;
}

/** `mainThreadUsPerRequest`: the main thread's CPU per request over the profiled phase, from /proc. */
export function stageTable(file: string, mainThreadUsPerRequest: number): StageTable {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOfNode = new Map<number, Stage | "idle">();
  const resolve = (id: number): Stage | "idle" => {
    const known = stageOfNode.get(id);
    if (known) return known;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let stage: Stage | "idle" | undefined = name === "(idle)" ? "idle" : stageOfFrame(node.callFrame);
    if (!stage) {
      const up = parent.get(id);
      const root = up === undefined || byId.get(up)!.callFrame.functionName === "(root)";
      if (!root) stage = resolve(up);
      else stage = name === "(program)" || !node.callFrame.url ? "other native and VM" : "node:http and streams, other";
    }
    stageOfNode.set(id, stage);
    return stage;
  };
  const time = new Map<Stage, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const stage = resolve(id);
    if (stage === "idle") return;
    const dt = profile.timeDeltas[i] ?? 0;
    busy += dt;
    time.set(stage, (time.get(stage) ?? 0) + dt);
  });
  return {
    stages: STAGES.map((stage) => {
      const share = busy ? (time.get(stage) ?? 0) / busy : 0;
      return { stage, us: share * mainThreadUsPerRequest, share };
    }),
  };
}
