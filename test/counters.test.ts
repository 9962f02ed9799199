/**
 * The embedded counters: the per-second window only moves forward, and the daily caps survive a restart and
 * stay exact when most of the day's counts have left memory.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { DATABASE_FILE } from "../src/store/sqlite/store";
import { verify } from "./helpers/call";
import { serveProcess } from "./helpers/cli";
import { startTestServer, tempDir, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

/** A valid 18-character identity number (ISO 7064 MOD 11-2 check character) from its first 17 digits. */
function withCheck(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * weights[i]!, 0);
  return first17 + "10X98765432"[sum % 11];
}

const person = (i: number) => ({
  Phone: `138${String(10_000_000 + i).slice(-8)}`,
  Name: "李四",
  IdCard: withCheck(`11010519900307${String(100 + i).slice(-3)}`),
});

describe("the rate window", () => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer();
    key = await server.addAccount();
    await server.installation.store.accounts.update(key.accountId, { rateLimit: 3 });
  });
  after(() => server.close());

  it("a call stamped with an earlier second counts in the current window instead of opening a new one", async () => {
    const second = (Math.floor(Date.now() / 1000) + 10) * 1000;
    const code = async () => {
      const r = await verify(server.port, key, ZHANG, { timestamp: Math.floor(second / 1000) });
      return r.Result ?? (r.Error as { Code: string }).Code;
    };
    server.setNow(second + 500);
    try {
      assert.deepEqual([await code(), await code(), await code()], ["-9", "-9", "-9"]);
      server.setNow(second - 500); // the clock seen by one request is a second behind
      assert.equal(await code(), "RequestLimitExceeded");
      server.setNow(second + 600);
      assert.equal(await code(), "RequestLimitExceeded", "the window of the current second is still full");
      server.setNow(second + 1000);
      assert.equal(await code(), "-9", "the next second opens a new window");
    } finally {
      server.setNow(undefined);
    }
  });
});

describe("daily caps in the embedded store", () => {
  it("a restart keeps the day's counts", async () => {
    const data = tempDir();
    const env = { SANYAO_DAILY_CAP: "2", SANYAO_RATE_LIMIT: "1000" };
    let served = await serveProcess(["--data", data], env);
    const key = { secretId: /SecretId: {2}(\S+)/.exec(served.banner)![1]!, secretKey: /SecretKey: (\S+)/.exec(served.banner)![1]! };
    try {
      assert.equal((await verify(served.port, key, ZHANG)).Result, "0");
      assert.equal((await verify(served.port, key, ZHANG)).Result, "0");
      assert.equal((await verify(served.port, key, ZHANG)).Result, "-12");
      await served.stop();
      served = await serveProcess(["--data", data], env);
      assert.equal((await verify(served.port, key, ZHANG)).Result, "-12", "the same day after a restart");
    } finally {
      await served.stop();
    }
  });

  it("a kill keeps the day's counts: the attempts are committed with the charge", async () => {
    const data = tempDir();
    const env = { SANYAO_DAILY_CAP: "2", SANYAO_RATE_LIMIT: "1000" };
    let served = await serveProcess(["--data", data], env);
    const key = { secretId: /SecretId: {2}(\S+)/.exec(served.banner)![1]!, secretKey: /SecretKey: (\S+)/.exec(served.banner)![1]! };
    try {
      assert.equal((await verify(served.port, key, ZHANG)).Result, "0");
      assert.equal((await verify(served.port, key, ZHANG)).Result, "0");
      // A charged answer's attempts are committed with its charge, before it answers: a kill right after loses none.
      const killed = new Promise((done) => served.child.once("exit", done));
      served.child.kill("SIGKILL");
      await killed;
      served = await serveProcess(["--data", data], env);
      assert.equal((await verify(served.port, key, ZHANG)).Result, "-12", "the same day after a kill");
    } finally {
      await served.stop();
    }
  });

  it("the writer adds each commit's attempts to the counts: nothing waits in a log, and nothing is lost", async () => {
    const server = await startTestServer({ SANYAO_DAILY_CAP: "5" });
    try {
      const key = await server.addAccount();
      const people = 300; // two attempts each (number and identity number)
      for (let i = 0; i < people; i++) assert.equal((await verify(server.port, key, person(i))).Result, "-9");
      const db = new Database(path.join(server.dataDir, DATABASE_FILE), { readonly: true });
      try {
        const read = () => ({
          logged: db.prepare<[], number>("SELECT count(*) FROM daily_attempts").pluck().get() ?? 0,
          counted: db.prepare<[], number>("SELECT coalesce(sum(n), 0) FROM daily_counts").pluck().get() ?? 0,
        });
        // an uncharged answer does not wait for its attempts' commit: the last few land just after it
        let seen = read();
        for (let tries = 0; seen.counted < 2 * people && tries < 100; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          seen = read();
        }
        assert.deepEqual(seen, { logged: 0, counted: 2 * people });
      } finally {
        db.close();
      }
    } finally {
      await server.close();
    }
  });

  it("attempts an earlier version left in its log count after the upgrade", async () => {
    const env = { SANYAO_DAILY_CAP: "2" };
    let server = await startTestServer(env);
    const dataDir = server.dataDir;
    const key = await server.addAccount();
    assert.equal((await verify(server.port, key, person(0))).Result, "-9");
    await server.close();
    // what an earlier version's writer left when killed: an attempt appended to the log, not yet folded into the counts
    const db = new Database(path.join(dataDir, DATABASE_FILE));
    try {
      db.prepare("INSERT INTO daily_attempts (day, key) SELECT day, key FROM daily_counts WHERE key LIKE '%:phone:%'").run();
    } finally {
      db.close();
    }
    server = await startTestServer(env, "sqlite", dataDir);
    try {
      assert.equal((await verify(server.port, key, person(0))).Result, "-12", "the number's count is 1 + 1 logged");
      assert.equal((await verify(server.port, key, person(1))).Result, "-9");
    } finally {
      await server.close();
    }
  });

  it("counts that left memory are read back: the cap holds for a number first seen long ago", async () => {
    const server = await startTestServer({ SANYAO_DAILY_CAP: "1", SANYAO_DAILY_KEYS_IN_MEMORY: "10" });
    try {
      const key = await server.addAccount();
      for (let i = 0; i < 40; i++) assert.equal((await verify(server.port, key, person(i))).Result, "-9");
      // the first numbers' counters were moved out of memory long ago
      assert.equal((await verify(server.port, key, person(0))).Result, "-12");
      assert.equal((await verify(server.port, key, person(1))).Result, "-12");
      assert.equal((await verify(server.port, key, person(41))).Result, "-9");
    } finally {
      await server.close();
    }
  });
});
