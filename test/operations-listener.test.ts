/**
 * The operations API on a listener of its own (SANYAO_OPS_HOST/SANYAO_OPS_PORT, serve --ops-host/--ops-port): there
 * the operations routes and /metrics answer, the public listener answers 404 for them, and both keep the probes.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, it } from "node:test";
import { loadConfig } from "../src/app/config";
import { sanyao, serveProcess } from "./helpers/cli";
import { faceidSdk } from "./helpers/sdk";
import { describeBackends, type TestServer, startTestServer, tempDir } from "./helpers/server";

const TOKEN = "ops-listener-token-000000001";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

const get = async (port: number, path: string, token?: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text() };
};

describeBackends("the operations listener", (backend) => {
  let server: TestServer;
  let opsPort: number;
  before(async () => {
    opsPort = await freePort();
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_OPS_PORT: String(opsPort) }, backend);
  });
  after(() => server.close());

  it("serves /_sanyao/* and /metrics on the ops port only; /healthz and /readyz on both", async () => {
    assert.equal((await get(opsPort, "/_sanyao/scenarios", TOKEN)).status, 200);
    assert.equal((await get(opsPort, "/metrics")).status, 200);
    const hidden = await get(server.port, "/_sanyao/scenarios", TOKEN);
    assert.equal(hidden.status, 404);
    assert.doesNotMatch(hidden.text, /scenarios"/);
    assert.equal((await get(server.port, "/metrics")).status, 404);
    for (const port of [server.port, opsPort]) {
      assert.equal((await get(port, "/healthz")).status, 200, `healthz on ${port}`);
      assert.equal((await get(port, "/readyz")).status, 200, `readyz on ${port}`);
    }
  });

  it("the API stays on the public port; the request log on the ops port shows its calls", async () => {
    const key = await server.addAccount("ops");
    await faceidSdk(server.port, key).MobileStatus({ Mobile: "13800001234" });
    const log = JSON.parse((await get(opsPort, `/_sanyao/requests?account=${key.accountId}`, TOKEN)).text) as {
      requests: Array<{ action: string }>;
    };
    assert.deepEqual(
      log.requests.map((r) => r.action),
      ["MobileStatus"],
    );
    assert.equal((await get(opsPort, "/")).status, 404, "no API on the operations listener");
  });

  it("the CLI finds the operations API by SANYAO_OPS_PORT; pointed at the public port it says where to look", async () => {
    const found = await sanyao(["requests", "--json"], { SANYAO_OPS_PORT: String(opsPort), SANYAO_ADMIN_TOKEN: TOKEN });
    assert.equal(found.code, 0, found.stderr);
    assert.ok(Array.isArray((JSON.parse(found.stdout) as { requests: unknown }).requests));
    const wrong = await sanyao(["requests", "--endpoint", server.url], { SANYAO_ADMIN_TOKEN: TOKEN });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /SANYAO_OPS_PORT/);
  });
});

it("SANYAO_OPS_PORT and --ops-port are checked at start", async () => {
  assert.throws(() => loadConfig({}, { SANYAO_OPS_PORT: "70000" }), /SANYAO_OPS_PORT must be a whole number from 0 to 65535/);
  assert.throws(() => loadConfig({ port: 9000 }, { SANYAO_OPS_PORT: "9000" }), /SANYAO_OPS_PORT must differ from SANYAO_PORT/);
  const bad = await sanyao(["serve", "--data", tempDir(), "--ops-port", "x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--ops-port/);
});

it("serve --ops-port: the banner names the operations listener, which answers apart from the public one", async () => {
  const opsPort = await freePort();
  const served = await serveProcess(["--data", tempDir(), "--ops-port", String(opsPort)], { SANYAO_ADMIN_TOKEN: TOKEN });
  try {
    assert.match(served.banner, new RegExp(`Operations API and metrics: http://127\\.0\\.0\\.1:${opsPort}/`));
    assert.equal((await get(opsPort, "/_sanyao/requests", TOKEN)).status, 200);
    assert.equal((await get(served.port, "/_sanyao/requests", TOKEN)).status, 404);
  } finally {
    await served.stop();
  }
});
