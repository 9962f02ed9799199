/**
 * `sanyao serve` on a port another program holds: a message that names the setting to change, a non-zero exit, and
 * no installation made behind it (so the first start that does listen is the one that prints the operator token).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { sanyao, serveProcess } from "./helpers/cli";
import { tempDir } from "./helpers/server";

/** A port held by a plain TCP listener, as another program would hold it. */
function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ port, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

describe("serve on a port in use", () => {
  let held: { port: number; close: () => Promise<void> };
  before(async () => {
    held = await holdPort();
  });
  after(() => held.close());

  it("--port: names --port and SANYAO_PORT, exits non-zero, makes no installation", async () => {
    const data = path.join(tempDir(), "data");
    const res = await sanyao(["serve", "--data", data, "--port", String(held.port)]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, new RegExp(`port ${held.port}`, "i"));
    assert.match(res.stderr, /--port/);
    assert.match(res.stderr, /SANYAO_PORT/);
    assert.match(res.stderr, /in use/);
    assert.equal(fs.existsSync(path.join(data, "secret")), false, "no installation secret");
    assert.equal(fs.existsSync(path.join(data, "admin-token")), false, "no operator token nobody was shown");
  });

  it("SANYAO_PORT: the same message", async () => {
    const data = path.join(tempDir(), "data");
    const res = await sanyao(["serve", "--data", data], { SANYAO_PORT: String(held.port) });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /--port or SANYAO_PORT/);
    assert.equal(fs.existsSync(path.join(data, "secret")), false);
  });

  it("--ops-port: names --ops-port and SANYAO_OPS_PORT", async () => {
    const data = path.join(tempDir(), "data");
    const res = await sanyao(["serve", "--data", data, "--port", "0", "--ops-port", String(held.port)]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /--ops-port or SANYAO_OPS_PORT/);
    assert.match(res.stderr, new RegExp(`port ${held.port}`, "i"));
    assert.equal(fs.existsSync(path.join(data, "secret")), false);
  });

  it("--workers 2: says so at once, makes no installation", async () => {
    const data = path.join(tempDir(), "data");
    const res = await sanyao(["serve", "--data", data, "--workers", "2", "--port", String(held.port)]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /--port or SANYAO_PORT/);
    assert.doesNotMatch(res.stderr, /starting another/, "no worker restarts against a port that is taken");
    assert.equal(fs.existsSync(path.join(data, "secret")), false);
  });

  it("after a start that failed to listen, the first start that listens is the first start: it prints the token", async () => {
    const data = path.join(tempDir(), "data");
    const failed = await sanyao(["serve", "--data", data, "--port", String(held.port)]);
    assert.notEqual(failed.code, 0);
    const server = await serveProcess(["--data", data]);
    try {
      assert.match(server.banner, /First start/);
      assert.match(server.banner, /Operations API token/);
      assert.match(server.banner, /sy_[A-Za-z0-9_-]{32}/);
    } finally {
      await server.stop();
    }
  });
});
