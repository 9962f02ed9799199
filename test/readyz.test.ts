/**
 * `/readyz` tells an anonymous caller only whether the server is ready; why it is not (raw error text, a host and
 * port, the upstream's URL) is for the operator token (issue 19 item 9).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TcpProxy } from "./helpers/proxy";
import { BACKENDS, startTestServer, type TestServer } from "./helpers/server";
import { REDIS_URL } from "./helpers/services";

async function readyz(server: TestServer, token?: string): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${server.url}/readyz`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

describe("/readyz on an embedded server that is ready", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it("anonymous: 200 and only {ready: true}; the operator token: each check", async () => {
    const anonymous = await readyz(server);
    assert.equal(anonymous.status, 200);
    assert.deepEqual(anonymous.body, { ready: true });
    const operator = await readyz(server, server.adminToken.token);
    assert.equal(operator.status, 200);
    assert.deepEqual(operator.body, { ready: true, checks: { store: "ok" } });
    // a wrong token is anonymous
    assert.deepEqual((await readyz(server, "sy_not-the-token-at-all")).body, { ready: true });
  });
});

const TOKEN = "sy_readyz-test-operator-token";
const skip = !BACKENDS.includes("scale-out") && "SANYAO_TEST_BACKENDS excludes scale-out";

describe("/readyz with Redis away", { skip }, () => {
  const redisPort = Number(new URL(REDIS_URL).port || 6379);
  const redis = new TcpProxy(redisPort);
  let server: TestServer;
  before(async () => {
    const port = await redis.start();
    server = await startTestServer({ SANYAO_REDIS_URL: `redis://127.0.0.1:${port}`, SANYAO_ADMIN_TOKEN: TOKEN }, "scale-out");
  });
  after(async () => {
    await redis.start().catch(() => undefined);
    await server.close();
    await redis.stop();
  });

  it("anonymous: 503 and only {ready: false}, no error text, host or port; the operator token: which check and why", async () => {
    // ready once the Redis connection is up (a bounded wait: connecting takes longer under load)
    let first = await readyz(server, TOKEN);
    for (const until = Date.now() + 10_000; first.status !== 200 && Date.now() < until; first = await readyz(server, TOKEN)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await redis.stop();
    const anonymous = await readyz(server);
    assert.equal(anonymous.status, 503);
    assert.deepEqual(anonymous.body, { ready: false });
    assert.doesNotMatch(anonymous.text, /redis|127\.0\.0\.1|ECONN|closed/i);

    const operator = await readyz(server, TOKEN);
    assert.equal(operator.status, 503);
    const { checks } = operator.body as { checks: Record<string, string> };
    assert.equal(checks.store, "ok");
    assert.notEqual(checks.redis, "ok");
    assert.ok((checks.redis ?? "").length > 0, "the operator sees why Redis is not ready");
  });
});
