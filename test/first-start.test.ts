/** What `npm start` does on a fresh clone: create everything, print a key and sample calls that work. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { verify } from "./helpers/call";
import { readmeDemoRows } from "./helpers/readme";
import { BIN, serveProcess, type ServeProcess } from "./helpers/cli";
import { repoRoot, tempDir } from "./helpers/server";

const run = promisify(execFile);

describe("first start", () => {
  const data = path.join(tempDir(), "data");
  let server: ServeProcess | undefined;
  after(() => server?.stop());

  it("creates the data directory, a 0600 secret, the demo account, key and records, and says so", async () => {
    server = await serveProcess(["--data", data]);
    assert.match(server.banner, /First start/);
    assert.equal(fs.statSync(path.join(data, "secret")).mode & 0o777, 0o600);
    assert.match(server.banner, /SecretId: {2}AKID[A-Za-z0-9]{32}/);
    assert.match(server.banner, /SecretKey: [A-Za-z0-9]{32}/);
  });

  it("the printed npx command returns Result 0", async () => {
    const line = server!.banner.split("\n").find((l) => l.trim().startsWith("npx sanyao verify"))!;
    const [cmd, ...args] = line.trim().split(/\s+/);
    const { stdout } = await run(cmd!, args, { cwd: repoRoot });
    assert.equal(JSON.parse(stdout).Result, "0");
  });

  it("the printed Node SDK lines return Result 0", async () => {
    const start = server!.banner.indexOf("const tencentcloud");
    const end = server!.banner.indexOf("then(console.log);") + "then(console.log);".length;
    const snippet = server!.banner.slice(start, end).replace(/\n {2}/g, "\n");
    const { stdout } = await run(process.execPath, ["-e", snippet], { cwd: repoRoot });
    assert.match(stdout, /Result: '0'/);
  });

  it("every call in the demo table (docs/getting-started.md) answers as the table says", async () => {
    const key = {
      secretId: /SecretId: {2}(\S+)/.exec(server!.banner)![1]!,
      secretKey: /SecretKey: (\S+)/.exec(server!.banner)![1]!,
    };
    // the rows that need no daily cap, against the records `serve` made (demo-table.test.ts runs them all)
    const rows = readmeDemoRows().filter((r) => !r.note.includes("daily cap"));
    assert.ok(rows.length >= 50, "the demo table is in docs/getting-started.md");
    for (const row of rows) {
      const res = await verify(server!.port, key, row.request, { action: row.action });
      assert.equal(res.Result, row.result, `${row.action} ${JSON.stringify(row.request)}`);
      const detail = /`ResultDetail` `(\w+)`|^`(\w+Mismatch)`/.exec(row.note);
      if (detail) assert.equal(res.ResultDetail, detail[1] ?? detail[2]);
    }
  });

  it("the encrypted example (docs/api-compatibility.md) (official KMS and FaceID clients) works with the demo key", async () => {
    const { stdout } = await run(process.execPath, ["examples/encrypted-verification.js", `127.0.0.1:${server!.port}`], {
      cwd: repoRoot,
      env: {
        ...process.env,
        SANYAO_SECRET_ID: /SecretId: {2}(\S+)/.exec(server!.banner)![1]!,
        SANYAO_SECRET_KEY: /SecretKey: (\S+)/.exec(server!.banner)![1]!,
      },
    });
    assert.match(stdout, /Result: '0'/);
  });

  it("the client example and batch example (docs/client.md, docs/batch.md) run as written", async () => {
    const env = {
      ...process.env,
      SANYAO_SECRET_ID: /SecretId: {2}(\S+)/.exec(server!.banner)![1]!,
      SANYAO_SECRET_KEY: /SecretKey: (\S+)/.exec(server!.banner)![1]!,
    };
    const client = await run(process.execPath, ["dist/examples/client.js", `http://127.0.0.1:${server!.port}`], { cwd: repoRoot, env });
    assert.match(client.stdout, /张三: 0 Authentication passed, charged: true/);
    assert.match(client.stdout, /李四: -4 Information inconsistency \(PhoneNameMismatch\)/);
    const out = path.join(tempDir(), "checked.csv");
    const batch = await run(
      process.execPath,
      [BIN, "batch", "examples/customers.csv", "--out", out, "--data", data, "--endpoint", `http://127.0.0.1:${server!.port}`],
      { cwd: repoRoot },
    );
    assert.match(batch.stdout, /5 rows/);
    assert.match(batch.stdout, /malformed rows \(skipped\): line 6/);
    const rows = fs.readFileSync(out, "utf8").trim().split("\n");
    assert.equal(rows.length, 6);
    assert.match(rows[4]!, /c-004,-13,/);
  });

  it("a second start reuses the secret, the demo key and the records", async () => {
    const firstSecret = fs.readFileSync(path.join(data, "secret"), "utf8");
    const firstId = /SecretId: {2}(\S+)/.exec(server!.banner)![1];
    await server!.stop();
    server = await serveProcess(["--data", data]);
    assert.doesNotMatch(server.banner, /First start/);
    assert.equal(/SecretId: {2}(\S+)/.exec(server.banner)![1], firstId);
    assert.equal(fs.readFileSync(path.join(data, "secret"), "utf8"), firstSecret);
  });
});

describe("a start on every interface (--host 0.0.0.0, as in the container image)", () => {
  let server: ServeProcess | undefined;
  after(() => server?.stop());

  it("prints sample calls that reach it from this machine, not the wildcard address", async () => {
    server = await serveProcess(["--data", path.join(tempDir(), "data"), "--host", "0.0.0.0"]);
    assert.match(server.banner, /serving .* at http:\/\/0\.0\.0\.0:\d+\/ \(every interface\)/);
    const line = server.banner.split("\n").find((l) => l.trim().startsWith("npx sanyao verify"));
    assert.ok(line, "the banner has a verify command");
    assert.match(line, /--endpoint http:\/\/127\.0\.0\.1:\d+ /);
    const [cmd, ...args] = line.trim().split(/\s+/);
    const { stdout } = await run(cmd ?? "npx", args, { cwd: repoRoot });
    assert.equal(JSON.parse(stdout).Result, "0");
    assert.match(server.banner, /endpoint: "127\.0\.0\.1:\d+"/);
  });
});
