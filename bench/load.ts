/**
 * The load generator, run as its own process so that it does not share the server's event loop:
 * autocannon against 127.0.0.1 with a file of pre-signed requests, bounded in time. Prints one JSON line.
 */
import fs from "node:fs";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require("autocannon");

interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  requestsFile?: string;
}

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
const requests = spec.requestsFile ? JSON.parse(fs.readFileSync(spec.requestsFile, "utf8")) : undefined;

autocannon(
  {
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    requests,
  },
  (
    err: Error | null,
    result: {
      requests: { average: number; total: number };
      latency: { p50: number; p99: number; p90: number; average: number };
      non2xx: number;
      errors: number;
      timeouts: number;
      duration: number;
    },
  ) => {
    if (err) {
      process.stderr.write(String(err));
      process.exit(1);
    }
    process.stdout.write(
      `${JSON.stringify({
        // the mean of autocannon's per-second samples; its `duration` also counts the set-up of the requests
        rps: result.requests.average,
        total: result.requests.total,
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
      })}\n`,
    );
  },
);
