/**
 * PostgreSQL and Redis for the scale-out suites: the machine runs both; when one has stopped, it is started the
 * way this machine's services are started (the same commands as .ci/run).
 */
import { execSync } from "node:child_process";
import net from "node:net";

export const PG_URL = process.env.SANYAO_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.SANYAO_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitFor(port: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (await reachable(port)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

let ensured: Promise<void> | undefined;

export function ensureServices(): Promise<void> {
  ensured ??= (async () => {
    if (!(await reachable(5432))) {
      execSync('pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start', { stdio: "ignore" });
      if (!(await waitFor(5432))) throw new Error("PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started");
    }
    if (!(await reachable(6379))) {
      execSync(
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
        { stdio: "ignore" },
      );
      if (!(await waitFor(6379))) throw new Error("Redis is not reachable on 127.0.0.1:6379 and could not be started");
    }
  })();
  return ensured;
}
