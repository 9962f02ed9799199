/**
 * Paced (open-loop) load: requests are sent on a fixed schedule, whatever the server's speed, over up to
 * `connections` keep-alive connections, and each latency is measured from the moment its request was due —
 * so a stall shows up in the figures instead of slowing the sender down. Prints one JSON line.
 */
import fs from "node:fs";
import http from "node:http";

interface PacedSpec {
  url: string;
  rate: number;
  durationSeconds: number;
  connections: number;
  requestsFile: string;
}
interface PresignedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const spec = JSON.parse(process.argv[2]!) as PacedSpec;
const requests = JSON.parse(fs.readFileSync(spec.requestsFile, "utf8")) as PresignedRequest[];
const target = new URL(spec.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
const latencies: number[] = [];
let errors = 0;
let sent = 0;

function send(due: bigint): void {
  const r = requests[sent++ % requests.length]!;
  const req = http.request(
    { host: target.hostname, port: target.port, method: r.method, path: r.path, headers: r.headers, agent },
    (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode !== 200) errors++;
        latencies.push(Number(process.hrtime.bigint() - due) / 1e6);
      });
    },
  );
  req.on("error", () => errors++);
  req.end(r.body);
}

const start = process.hrtime.bigint();
const intervalNs = BigInt(Math.round(1e9 / spec.rate));
const total = Math.round(spec.rate * spec.durationSeconds);
let scheduled = 0;
const timer = setInterval(() => {
  const now = process.hrtime.bigint();
  while (scheduled < total && start + BigInt(scheduled) * intervalNs <= now) {
    send(start + BigInt(scheduled) * intervalNs);
    scheduled++;
  }
  if (scheduled >= total) clearInterval(timer);
}, 1);

const deadline = setTimeout(finish, (spec.durationSeconds + 10) * 1000);
const poll = setInterval(() => {
  if (scheduled >= total && latencies.length + errors >= total) finish();
}, 20);

function finish(): void {
  clearInterval(poll);
  clearTimeout(deadline);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0).toFixed(2));
  process.stdout.write(
    `${JSON.stringify({ rps: latencies.length / elapsed, total: latencies.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), non2xx: 0, errors, timeouts: total - latencies.length - errors })}\n`,
  );
  agent.destroy();
  process.exit(0);
}
