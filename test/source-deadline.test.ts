/**
 * The source's time budget (SANYAO_SOURCE_TIMEOUT_MS): a records lookup that does not answer within it is answered
 * -11, uncharged, and the lookup left behind does not disturb the calls after it. PostgreSQL, where a lookup can
 * wait: another session holds the records' table locked (the store's own query timeout, 3 s, would answer -11 as well,
 * later: the log line tells them apart).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { callTc3 } from "./helpers/call";
import { BACKENDS, startTestServer, type TestServer } from "./helpers/server";

const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };
const PARAMS = { Phone: ZHANG.phone, Name: ZHANG.name, IdCard: ZHANG.idcard };
/** how long the lock is held at most, should the call never be answered: the test then fails, not hangs */
const HELD_AT_MOST_MS = 20_000;

const skip = !BACKENDS.includes("scale-out") && "SANYAO_TEST_BACKENDS excludes scale-out";

describe("a records lookup past the source's time budget", { skip }, () => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_SOURCE_TIMEOUT_MS: "1000" }, "scale-out");
    key = await server.addAccount("deadline");
    await server.addRecords([ZHANG]);
  });
  after(() => server.close());

  it("is answered -11, uncharged, while the lookup waits; the next call, once it can read, is answered as before", async () => {
    const first = await callTc3(server.port, key, PARAMS);
    assert.equal(first.json.Response.Result, "0");
    assert.equal(first.headers["x-sanyao-billable"], "1");

    const locker = new Client({ connectionString: server.env.SANYAO_DATABASE_URL });
    await locker.connect();
    let release: NodeJS.Timeout | undefined;
    try {
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE ${server.env.SANYAO_DATABASE_SCHEMA}.records IN ACCESS EXCLUSIVE MODE`);
      // Should the budget not fire, PostgreSQL's own query timeout answers -11 after 3 s: the log line below tells.
      release = setTimeout(() => void locker.query("ROLLBACK").catch(() => undefined), HELD_AT_MOST_MS);
      const late = await callTc3(server.port, key, PARAMS);
      assert.equal(late.json.Response.Result, "-11", JSON.stringify(late.json));
      assert.equal(late.headers["x-sanyao-billable"], "0");
      // the budget's answer, not the store's own query timeout (3 s), which would answer -11 too
      const line = server.logs.find((l) => l.includes(late.json.Response.RequestId) && l.includes("source failed"));
      assert.match(line ?? "", /source exceeded its 1000 ms budget/);
    } finally {
      clearTimeout(release);
      await locker.query("ROLLBACK").catch(() => undefined);
      await locker.end();
    }

    const again = await callTc3(server.port, key, PARAMS);
    assert.equal(again.json.Response.Result, "0");
    assert.equal(again.headers["x-sanyao-billable"], "1");
  });
});
