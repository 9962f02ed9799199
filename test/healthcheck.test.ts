/**
 * The container image's health check (dist/src/cli/healthcheck.js): exit 0 only while /readyz answers 200 on the
 * port SANYAO_PORT names, reached on loopback when SANYAO_HOST is the wildcard the image sets.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "./helpers/paths";
import { TcpProxy } from "./helpers/proxy";
import { BACKENDS, startTestServer, type TestServer } from "./helpers/server";
import { REDIS_URL } from "./helpers/services";

const SCRIPT = path.join(repoRoot, "dist", "src", "cli", "healthcheck.js");

function healthcheck(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT], { env: { ...process.env, SANYAO_HOST: "0.0.0.0", ...env } }, (err, _stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stderr }),
    );
  });
}

const skip = !BACKENDS.includes("scale-out") && "SANYAO_TEST_BACKENDS excludes scale-out";

describe("the image's health check", { skip }, () => {
  const redis = new TcpProxy(Number(new URL(REDIS_URL).port || 6379));
  let server: TestServer;
  before(async () => {
    const port = await redis.start();
    server = await startTestServer({ SANYAO_REDIS_URL: `redis://127.0.0.1:${port}` }, "scale-out");
  });
  after(async () => {
    await redis.start().catch(() => undefined);
    await server.close();
    await redis.stop();
  });

  it("exits 0 while the server on SANYAO_PORT is ready, 1 once Redis is away, 0 again when it is back", async () => {
    const env = { SANYAO_PORT: String(server.port) };
    assert.deepEqual(await healthcheck(env), { code: 0, stderr: "" });
    await redis.stop();
    const away = await healthcheck(env);
    assert.equal(away.code, 1);
    assert.equal(away.stderr, `healthcheck: not ready on port ${server.port}: /readyz answered 503\n`);
    await redis.start();
    // the client reconnects by itself; readiness follows within its retry delay
    for (let i = 0; (await healthcheck(env)).code !== 0; i++) {
      assert.ok(i < 50, "ready again once Redis is back");
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it("exits 1 when nothing listens on SANYAO_PORT, and when SANYAO_PORT is 0 (no known port)", async () => {
    const closed = await healthcheck({ SANYAO_PORT: "1" });
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /^healthcheck: not ready on port 1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
    const zero = await healthcheck({ SANYAO_PORT: "0" });
    assert.equal(zero.code, 1);
    assert.match(zero.stderr, /SANYAO_PORT is 0/);
  });

  it("exits 1 with the configuration's own message when the environment is wrong", async () => {
    const bad = await healthcheck({ SANYAO_PORT: "eighty" });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, "healthcheck: SANYAO_PORT must be a whole number from 0 to 65535.\n");
  });
});
