/**
 * The demo account is made once per installation and never again: a demo key the operator disabled or deleted stays
 * so across restarts, and an installation started with --no-demo (or SANYAO_DEMO=false) has no demo at all.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { verify } from "./helpers/call";
import { sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { tempDir } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

interface ListedKey {
  secretId: string;
  enabled: boolean;
}

async function cliJson<T>(data: string, ...args: string[]): Promise<T> {
  const res = await sanyao([...args, "--data", data, "--json"]);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as T;
}

const demoKeyOf = (banner: string) => {
  const secretId = /SecretId: {2}(\S+)/.exec(banner)?.[1];
  const secretKey = /SecretKey: (\S+)/.exec(banner)?.[1];
  assert.ok(secretId && secretKey, `a demo key in the banner:\n${banner}`);
  return { secretId, secretKey };
};

describe("the demo account", () => {
  const running: ServeProcess[] = [];
  const serve = async (args: string[], env: Record<string, string> = {}) => {
    const server = await serveProcess(args, env);
    running.push(server);
    return server;
  };
  after(async () => {
    for (const s of running) await s.stop();
  });

  /** The accounts and every key of every account, as the CLI lists them. */
  const keysOf = async (data: string) => {
    const { accounts } = await cliJson<{ accounts: Array<{ accountId: string; name: string }> }>(data, "accounts", "list");
    const keys: ListedKey[] = [];
    for (const a of accounts) keys.push(...(await cliJson<{ keys: ListedKey[] }>(data, "keys", "list", "--account", a.accountId)).keys);
    return { accounts: accounts.map((a) => a.name), keys: keys.map((k) => ({ secretId: k.secretId, enabled: k.enabled })) };
  };

  it("a disabled demo key stays disabled across restarts, and no other is made or printed", async () => {
    const data = tempDir();
    const first = await serve(["--data", data]);
    const demo = demoKeyOf(first.banner);
    assert.equal((await verify(first.port, demo, ZHANG)).Result, "0");
    await first.stop();

    assert.equal((await sanyao(["keys", "disable", demo.secretId, "--data", data])).code, 0);
    for (let start = 0; start < 2; start++) {
      const again = await serve(["--data", data]);
      assert.doesNotMatch(again.banner, /SecretKey|Demo key/, `no demo key printed:\n${again.banner}`);
      assert.equal((await verify(again.port, demo, ZHANG)).Error?.Code, "AuthFailure.SecretIdNotFound");
      await again.stop();
      assert.deepEqual(await keysOf(data), { accounts: ["demo"], keys: [{ secretId: demo.secretId, enabled: false }] });
    }
    // `verify` without credentials has no demo key to sign with any more
    const unsigned = await sanyao(["verify", "--data", data, "--phone", ZHANG.Phone, "--name", ZHANG.Name, "--idcard", ZHANG.IdCard]);
    assert.equal(unsigned.code, 2);
    assert.match(unsigned.stderr, /No credentials/);
  });

  it("a deleted demo key is not made again", async () => {
    const data = tempDir();
    const first = await serve(["--data", data]);
    const demo = demoKeyOf(first.banner);
    await first.stop();
    // No command deletes a key; an operator can still delete its row by hand.
    const db = new Database(path.join(data, "sanyao.db"));
    assert.equal(db.prepare("DELETE FROM api_keys WHERE secret_id = ?").run(demo.secretId).changes, 1);
    db.close();

    const again = await serve(["--data", data]);
    assert.doesNotMatch(again.banner, /SecretKey|Demo key/, `no demo key printed:\n${again.banner}`);
    await again.stop();
    assert.deepEqual(await keysOf(data), { accounts: ["demo"], keys: [] });
  });

  for (const how of ["--no-demo", "SANYAO_DEMO=false"] as const) {
    it(`${how}: no demo account, key or records, and nothing printed about one — at that start and the next`, async () => {
      const data = tempDir();
      const args = how === "--no-demo" ? ["--data", data, "--no-demo"] : ["--data", data];
      const env: Record<string, string> = how === "--no-demo" ? {} : { SANYAO_DEMO: "false" };
      const server = await serve(args, env);
      assert.doesNotMatch(server.banner, /demo|SecretId|SecretKey/i, `nothing about a demo:\n${server.banner}`);
      assert.match(server.banner, /First start/);
      assert.deepEqual(await keysOf(data), { accounts: [], keys: [] });
      // an account of the operator's own finds no demo records
      const account = await cliJson<{ accountId: string }>(data, "accounts", "create", "--name", "ours");
      const key = await cliJson<{ secretId: string; secretKey: string }>(data, "keys", "create", "--account", account.accountId);
      assert.equal((await verify(server.port, key, ZHANG)).Result, "-9");
      await server.stop();

      // The installation remembers it was made without the demo: a plain start does not add one.
      const plain = await serve(["--data", data]);
      assert.doesNotMatch(plain.banner, /demo|SecretKey/i, `nothing about a demo:\n${plain.banner}`);
      await plain.stop();
      assert.deepEqual((await keysOf(data)).accounts, ["ours"]);
    });
  }

  it("--no-demo on an installation that has its demo: the demo key is kept, and not printed", async () => {
    const data = tempDir();
    const first = await serve(["--data", data]);
    const demo = demoKeyOf(first.banner);
    await first.stop();
    const quiet = await serve(["--data", data, "--no-demo"]);
    assert.doesNotMatch(quiet.banner, /SecretKey|Demo key/);
    await quiet.stop();
    assert.deepEqual(await keysOf(data), { accounts: ["demo"], keys: [{ secretId: demo.secretId, enabled: true }] });
    const loud = await serve(["--data", data]);
    assert.equal(demoKeyOf(loud.banner).secretId, demo.secretId);
  });
});
