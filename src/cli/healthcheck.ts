/**
 * The container image's health check: GET /readyz on the address `sanyao serve` listens on, read from the
 * environment the way serve reads it (SANYAO_PORT, SANYAO_HOST), so a container started with another port stays
 * checked. Exit 0 when ready; 1 when not, unreachable or slow. Kept apart from the CLI so a check every few seconds
 * loads only the configuration.
 */
import http from "node:http";
import { ConfigError, loadConfig } from "../app/config";

const TIMEOUT_MS = 2500;

/** A wildcard listen address is reached on loopback. */
function reachableHost(host: string): string {
  return host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
}

function readinessOf(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: reachableHost(host), port, path: "/readyz", timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `/readyz answered ${res.statusCode}`);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on("error", (err) => resolve(err.message));
  });
}

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`healthcheck: ${err.message}\n`);
    return 1;
  }
  if (config.port === 0) {
    process.stderr.write("healthcheck: SANYAO_PORT is 0 (any free port), so there is no known port to check; set one.\n");
    return 1;
  }
  const problem = await readinessOf(config.host, config.port);
  if (problem === undefined) return 0;
  process.stderr.write(`healthcheck: not ready on port ${config.port}: ${problem}\n`);
  return 1;
}

if (require.main === module) void main().then((code) => process.exit(code));
