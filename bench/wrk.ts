/**
 * The saturation load with wrk (C, epoll, one thread) when it is installed: it costs the shared cores far less than
 * a Node.js generator, so more of them measure the server. The pre-signed requests are cycled by a Lua script.
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Load } from "./run";

const run = promisify(execFile);

interface SignedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export function wrkAvailable(): boolean {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version; only a missing binary is ENOENT
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

/** A Lua long string that cannot be closed by the text inside it. */
function luaString(text: string): string {
  let level = "";
  while (text.includes(`]${level}]`)) level += "=";
  return `[${level}[${text}]${level}]`;
}

/** `pauseMs`: each connection waits this long before each request (paced load), else none (saturation). */
function luaScript(requests: readonly SignedRequest[], pauseMs: number | undefined): string {
  const entries = requests.map((r) => {
    // wrk adds Content-Length itself
    const headers = Object.entries(r.headers)
      .filter(([k]) => k.toLowerCase() !== "content-length")
      .map(([k, v]) => `[ ${luaString(k)} ] = ${luaString(v)}`) // "[[[k]]]" would read as the string "[k"
      .join(", ");
    return `{ ${luaString(r.method)}, ${luaString(r.path)}, { ${headers} }, ${luaString(r.body)} }`;
  });
  // Error envelopes are HTTP 200 too: they are counted, so a run that measured only refusals says so.
  return `local raw = {\n${entries.join(",\n")}\n}
local formatted = {}
local i = 0
envelope_errors = 0
function init(args)
  for k, r in ipairs(raw) do formatted[k] = wrk.format(r[1], r[2], r[3], r[4]) end
end
function request()
  i = i % #formatted + 1
  return formatted[i]
end
${pauseMs === undefined ? "" : `function delay() return math.random(0, ${2 * pauseMs}) end`}
function response(status, headers, body)
  if body:find('"Error":{', 1, true) then envelope_errors = envelope_errors + 1 end
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("envelope_errors") end
  io.write(string.format("Envelope errors: %d\\n", n))
end
`;
}

function ms(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

/**
 * `rate` paces the load: each connection waits a random 0 to 2 × connections/rate seconds before each request
 * (random, so the connections do not fire together in bursts), plus the answer's own latency, small at half the
 * saturated rate: the whole arrives at about `rate` per second.
 */
export async function wrkLoad(
  url: string,
  connections: number,
  durationSeconds: number,
  requestsFile?: string,
  rate?: number,
): Promise<Load> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-wrk-"));
  const args = ["-t1", `-c${connections}`, `-d${durationSeconds}s`, "--latency"];
  if (requestsFile) {
    const script = path.join(dir, "requests.lua");
    const pauseMs = rate ? Math.max(1, Math.round((connections * 1000) / rate)) : undefined;
    fs.writeFileSync(script, luaScript(JSON.parse(fs.readFileSync(requestsFile, "utf8")) as SignedRequest[], pauseMs));
    args.push("-s", script);
  }
  try {
    const { stdout } = await run("wrk", [...args, url], { timeout: (durationSeconds + 60) * 1000, maxBuffer: 1 << 20 });
    const latency = (p: string) => {
      const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(stdout);
      return m ? ms(m[1]!, m[2]!) : Number.NaN;
    };
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    return {
      rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0),
      total: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0),
      p50: latency("50"),
      p90: latency("90"),
      p99: latency("99"),
      non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
      // socket errors, and answers that carried an API error (the bench's requests are all meant to be answered)
      errors:
        (socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0) + Number(/Envelope errors: (\d+)/.exec(stdout)?.[1] ?? 0),
      timeouts: socket ? Number(socket[4]) : 0,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
