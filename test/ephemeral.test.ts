/**
 * `sanyao serve --ephemeral` (issue 13, item 6): a throw-away server for test suites in any language — one JSON
 * line on stdout when it serves, the demo key and records, and nothing left behind once it is stopped.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { it } from "node:test";
import { promisify } from "node:util";
import { BIN, sanyao } from "./helpers/cli";
import { repoRoot } from "./helpers/server";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tencentcloud = require("tencentcloud-sdk-nodejs");

interface Ready {
  sanyao: string;
  endpoint: string;
  secretId: string;
  secretKey: string;
  accountId: string;
  dataDir: string;
  pid: number;
}

const ephemeralDirs = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("sanyao-ephemeral-"));

it("prints one ready line, serves the demo records to the official SDK, and removes its directory on SIGTERM", async () => {
  const child = spawn(process.execPath, [BIN, "serve", "--ephemeral"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const firstLine = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.on("exit", (code) => reject(new Error(`serve --ephemeral exited with ${code}`)));
  });
  const ready = JSON.parse(firstLine) as Ready;
  assert.equal(ready.sanyao, "ready");
  assert.match(ready.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(ready.pid, child.pid);
  assert.ok(fs.existsSync(ready.dataDir), "the data directory exists while it serves");
  const sdk = new tencentcloud.faceid.v20180301.Client({
    credential: { secretId: ready.secretId, secretKey: ready.secretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: ready.endpoint.replace("http://", ""), protocol: "http://" } },
  });
  assert.equal((await sdk.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" })).Result, "0");
  assert.equal((await sdk.MobileStatus({ Mobile: "13700002222" })).StatusCode, 5);
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.equal(fs.existsSync(ready.dataDir), false, "the data directory is removed");
});

it("the test kit's shell script (docs/test-kit.md) runs as written and leaves nothing behind", async () => {
  const before = ephemeralDirs();
  const { stdout } = await promisify(execFile)("sh", ["examples/ephemeral.sh"], { cwd: repoRoot, timeout: 60_000 });
  assert.match(stdout, /"Result": "0"/);
  assert.deepEqual(ephemeralDirs(), before);
});

it("the gateway example (docs/gateway.md) runs as written: two installations, the team's call reaches the upstream encrypted", async () => {
  const before = ephemeralDirs();
  const { stdout } = await promisify(execFile)("sh", ["examples/gateway.sh"], { cwd: repoRoot, timeout: 90_000 });
  assert.match(stdout, /"Result": "0"/);
  assert.match(stdout, /PhoneVerification {2}Result 0 {2}TC3-HMAC-SHA256 .*\(encrypted IdCard,Name,Phone\)/);
  assert.match(stdout, /PhoneVerification +simple +1 +1 +0\.30/);
  assert.deepEqual(ephemeralDirs(), before);
});

it("--ephemeral is embedded and single-process: --database-url and --workers are refused", async () => {
  const pg = await sanyao(["serve", "--ephemeral", "--database-url", "postgres://127.0.0.1/none"]);
  assert.equal(pg.code, 2);
  assert.match(pg.stderr, /--ephemeral serves an embedded installation/);
  const workers = await sanyao(["serve", "--ephemeral", "--workers", "2"]);
  assert.equal(workers.code, 2);
  assert.match(workers.stderr, /--ephemeral serves from one process/);
});
