/** `sanyao init`: an installation made without serving, its operator token printed once; on an existing one, nothing changes. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { sanyao, serveProcess } from "./helpers/cli";
import { dropScaleOut, scaleOutEnv, tempDir } from "./helpers/server";
import { ensureServices } from "./helpers/services";

describe("sanyao init (embedded)", () => {
  const data = path.join(tempDir(), "data");

  it("makes the installation with the demo, prints the demo key and the operator token once, exit 0", async () => {
    const res = await sanyao(["init", "--data", data]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Created an installation in .*data: its secret \(mode 0600\) and SQLite database, with the demo account/);
    assert.match(res.stdout, /SecretId: {2}AKID[A-Za-z0-9]{32}/);
    assert.match(res.stdout, /Operations API token \(kept in .*admin-token, mode 0600; printed only now\):\n {2}sy_[A-Za-z0-9_-]{32}/);
    assert.equal(fs.statSync(path.join(data, "secret")).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(data, "admin-token")).mode & 0o777, 0o600);
  });

  it("on an existing installation: says so, changes nothing, prints no token, exit 0", async () => {
    const secret = fs.readFileSync(path.join(data, "secret"), "utf8");
    const accounts = (await sanyao(["accounts", "list", "--json", "--data", data])).stdout;
    const res = await sanyao(["init", "--data", data]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /An installation exists already in .*data: nothing changed\./);
    assert.doesNotMatch(res.stdout, /sy_|SecretKey/);
    assert.equal(fs.readFileSync(path.join(data, "secret"), "utf8"), secret);
    assert.equal((await sanyao(["accounts", "list", "--json", "--data", data])).stdout, accounts);
  });

  it("serve after init: not a first start, no token printed again; the token init printed opens the operations API", async () => {
    const token = fs.readFileSync(path.join(data, "admin-token"), "utf8").trim();
    const server = await serveProcess(["--data", data]);
    try {
      assert.doesNotMatch(server.banner, /First start|Operations API token/);
      assert.match(server.banner, /Demo key/);
      const res = await fetch(`${server.url}/_sanyao/requests`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
    } finally {
      await server.stop();
    }
  });

  it("--no-demo: no demo account, key or records, and serve never makes them; --json says what it made", async () => {
    const bare = path.join(tempDir(), "data");
    const res = await sanyao(["init", "--data", bare, "--no-demo", "--json"]);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { created: boolean; mode: string; demo: unknown; adminToken: { token: string; file: string } };
    assert.equal(out.created, true);
    assert.equal(out.mode, "embedded");
    assert.equal(out.demo, null);
    assert.match(out.adminToken.token, /^sy_/);
    assert.deepEqual(JSON.parse((await sanyao(["accounts", "list", "--json", "--data", bare])).stdout), { accounts: [] });
    const server = await serveProcess(["--data", bare]);
    try {
      assert.doesNotMatch(server.banner, /Demo key/);
    } finally {
      await server.stop();
    }
    assert.deepEqual(JSON.parse((await sanyao(["accounts", "list", "--json", "--data", bare])).stdout), { accounts: [] });
  });

  it("a seed that is not there: refused before anything is made", async () => {
    const fresh = path.join(tempDir(), "data");
    const res = await sanyao(["init", "--data", fresh, "--seed", path.join(fresh, "..", "nope.json")]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /nope\.json: no such file/);
    assert.equal(fs.existsSync(path.join(fresh, "secret")), false);
  });
});

describe("serve with a bad seed", () => {
  it("exits 2 naming the entry and field, before it makes an installation", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "seed.json"), JSON.stringify({ accounts: [{ name: "x", rateLimit: 0 }] }));
    const res = await sanyao(["serve", "--data", path.join(dir, "data"), "--port", "0", "--seed", path.join(dir, "seed.json")]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /seed\.json: accounts\[0\]\.rateLimit: must be a whole number ≥ 1/);
    assert.equal(fs.existsSync(path.join(dir, "data")), false);
  });
});

describe("sanyao init (scale-out)", () => {
  it("--database-url: runs the migrations, then on the same schema says it exists", async () => {
    await ensureServices();
    const env = scaleOutEnv();
    const { SANYAO_DATABASE_URL: url = "", ...rest } = env;
    try {
      const first = await sanyao(["init", "--database-url", url], rest);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /Created a scale-out installation in PostgreSQL \(schema t_[0-9a-f]+\): its tables/);
      assert.doesNotMatch(first.stdout, /Demo key|sy_/, "no demo and no token file in scale-out (SANYAO_ADMIN_TOKEN)");
      const again = await sanyao(["init", "--database-url", url], rest);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /An installation exists already in PostgreSQL .*: nothing changed\./);
      assert.deepEqual(JSON.parse((await sanyao(["accounts", "list", "--json"], env)).stdout), { accounts: [] });
    } finally {
      await dropScaleOut(env);
    }
  });
});
