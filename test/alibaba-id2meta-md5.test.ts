/**
 * Id2MetaVerify and Id2MetaStandardVerify with ParamType md5 (alibaba-cloudauth.md §1.2): the partial form — the
 * birth date and the name's first character as MD5s, the rest in plain — answered exactly as the plain call, through
 * the official SDK in V3 and V2 signing: every row of the table, the ledger, the daily cap shared with plain calls,
 * and no plain value in the store or the logs. First, known answers of the recovery itself.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { partialMd5Tables, recoverIdCard, recoverName } from "../src/cloudauth/partial-md5";
import { type AlibabaAnswer, cloudauth, md5, SIGNINGS } from "./helpers/alibaba";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };
const WITH_X = { phone: "13800004321", name: "赵六", idcard: "11010519880101105X" };
const BUSY = { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" };

/** An identity number in Id2Meta's partial form: the birth date's MD5 between the first 6 and the last 4. */
const partialId = (id: string, hex: (d: string) => string = md5) => `${id.slice(0, 6)}${hex(id.slice(6, 14))}${id.slice(14)}`;
/** A name in the partial form: the first character's MD5, then the rest. */
const partialName = (name: string, hex: (d: string) => string = md5) => {
  const [first = "", ...rest] = [...name];
  return `${hex(first)}${rest.join("")}`;
};
const upper = (text: string) => md5(text).toUpperCase();
const TOKEN = "test-operator-token-0123456789";

describe("recovering Id2Meta's partial md5 form (known answers)", () => {
  it('md5("张") is 6499fc7409049355527ef6a2ba5706b8, and 6499fc…三 is 张三', async () => {
    assert.equal(md5("张"), "6499fc7409049355527ef6a2ba5706b8");
    const tables = await partialMd5Tables();
    assert.equal(recoverName("6499fc7409049355527ef6a2ba5706b8三", tables), "张三");
    assert.equal(recoverName(" 6499FC7409049355527EF6A2BA5706B8三 ", tables), "张三");
    assert.equal(recoverName(`${md5("J")}ohn Smith`, tables), "John Smith");
    // a first character from CJK Extension B (outside the BMP, four bytes of UTF-8)
    assert.equal(recoverName(`${md5("𠀀")}三`, tables), "𠀀三");
    assert.equal(recoverName(md5("张三"), tables), undefined);
    assert.equal(recoverName("6499fc7409049355527ef6a2ba5706b", tables), undefined);
  });

  it("the birth date between the first 6 and the last 4; either hex case; a digest of no date recovers nothing", async () => {
    const tables = await partialMd5Tables();
    assert.equal(recoverIdCard("110105644597e2f56d339c8fdac3a9f837194b2143", tables), ZHANG.idcard);
    assert.equal(md5("19900307"), "644597e2f56d339c8fdac3a9f837194b");
    assert.equal(recoverIdCard(partialId(ZHANG.idcard, upper), tables), ZHANG.idcard);
    assert.equal(recoverIdCard(partialId("11010519000101105X"), tables), "11010519000101105X");
    assert.equal(recoverIdCard(partialId("11010520991231105X"), tables), "11010520991231105X");
    for (const notADate of ["19900230", "18991231", "21000101", "1990030"])
      assert.equal(recoverIdCard(`110105${md5(notADate)}2143`, tables), undefined, notADate);
    assert.equal(recoverIdCard(ZHANG.idcard, tables), undefined);
    assert.equal(recoverIdCard(`110105${md5("19900307").slice(1)}x2143`, tables), undefined);
  });

  it("dates whose digests share the table's key are each recovered", async () => {
    const tables = await partialMd5Tables();
    const byKey = new Map<number, string>();
    const sharing: Array<[string, string]> = [];
    for (let day = Date.UTC(1900, 0, 1); day <= Date.UTC(2099, 11, 31); day += 86_400_000) {
      const date = new Date(day).toISOString().slice(0, 10).replaceAll("-", "");
      const key = createHash("md5").update(date).digest().readUInt32BE(0) >>> 2;
      const other = byKey.get(key);
      if (other) sharing.push([other, date]);
      else byKey.set(key, date);
    }
    assert.ok(sharing.length > 0, "no two dates share a key: this test would prove nothing");
    for (const [a, b] of sharing) {
      assert.equal(recoverIdCard(`110105${md5(a)}0000`, tables), `110105${a}0000`);
      assert.equal(recoverIdCard(`110105${md5(b)}0000`, tables), `110105${b}0000`);
    }
  });
});

/** [IdentifyNum, UserName, Code, BizCode, billed]: the plain table's rows in the partial form. */
const ROWS: Array<[string, string, string, string?, boolean?]> = [
  [partialId(ZHANG.idcard), partialName(ZHANG.name), "200", "1", true],
  [partialId(ZHANG.idcard, upper), partialName(ZHANG.name, upper), "200", "1", true],
  [` ${partialId(ZHANG.idcard)} `, ` ${partialName(ZHANG.name)}`, "200", "1", true],
  [partialId(WITH_X.idcard).toLowerCase(), partialName(WITH_X.name), "200", "1", true],
  [partialId(ZHANG.idcard), partialName("李四"), "200", "2", true],
  [partialId("110105198511111239"), partialName(ZHANG.name), "200", "3", false],
  [partialId("110105199003072144"), partialName(ZHANG.name), "401"],
  [partialId(ZHANG.idcard), partialName("x"), "401"],
  [`110105${md5("19900230")}2143`, partialName(ZHANG.name), "401"],
  [ZHANG.idcard, partialName(ZHANG.name), "401"],
  [partialId(ZHANG.idcard), md5("张三"), "401"],
  [partialId(ZHANG.idcard), ZHANG.name, "401"],
  [partialId(BUSY.idcard), partialName(BUSY.name), "402"],
];

describeBackends("Id2Meta's partial md5 form answers as plain", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    await server.addRecords([ZHANG, WITH_X, BUSY]);
  });
  after(() => server.close());

  const charged = async (accountId: string) =>
    (await server.installation.store.ledger.usage({ accountId })).reduce((n, r) => n + r.charged, 0);

  for (const signing of SIGNINGS) {
    it(`every row of the table in md5 mode, both actions (${signing}); the ledger equals the billed answers`, async () => {
      const account = await server.addAccount(`md5-${signing}`);
      const client = cloudauth(server.port, account, signing);
      let billed = 0;
      for (const action of ["Id2MetaVerify", "Id2MetaStandardVerify"]) {
        for (const [identifyNum, userName, code, biz, bills] of ROWS) {
          const res: AlibabaAnswer = await client.call(action, { paramType: "md5", identifyNum, userName });
          const what = `${action} ${identifyNum} ${code}`;
          assert.equal(res.code, code, what);
          if (code === "200") assert.deepEqual({ ...res.resultObject }, { bizCode: biz }, what);
          else assert.equal(res.resultObject, undefined, what);
          if (bills) billed++;
        }
        assert.equal((await client.call(action, { paramType: "md5", identifyNum: partialId(ZHANG.idcard) })).code, "400");
        assert.equal((await client.call(action, { paramType: "md5", identifyNum: "", userName: partialName(ZHANG.name) })).code, "400");
      }
      assert.equal(billed, 2 * 5);
      assert.equal(await charged(account.accountId), billed);
      const usage = await server.installation.store.ledger.usage({ accountId: account.accountId });
      assert.deepEqual(usage.map((r) => [r.action, r.charged, r.amount]).sort(), [
        ["Id2MetaStandardVerify", 5, 50],
        ["Id2MetaVerify", 5, 50],
      ]);
    });
  }

  it("an account in arrears is refused 412 in md5 mode as in plain, unbilled", async () => {
    const account = await server.addAccount("md5-arrears");
    const balance = (await server.installation.store.accounts.get(account.accountId))?.balance ?? 0;
    await server.installation.store.accounts.topUp(account.accountId, -balance - 1, "test");
    const fields = { paramType: "md5", identifyNum: partialId(ZHANG.idcard), userName: partialName(ZHANG.name) };
    assert.equal((await cloudauth(server.port, account, "v3").call("Id2MetaVerify", fields)).code, "412");
    assert.equal(await charged(account.accountId), 0);
  });

  it("a test-kit scenario for an identity number takes the md5 form of a call about it, and no other", async () => {
    const account = await server.addAccount("md5-scenario");
    const res = await fetch(`${server.url}/_sanyao/scenarios`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ account: account.accountId, action: "Id2MetaVerify", idCard: ZHANG.idcard, result: "200/2" }),
    });
    assert.equal(res.status, 201, await res.text());
    const client = cloudauth(server.port, account, "v2");
    const ask = async (person: { idcard: string; name: string }) =>
      (await client.call("Id2MetaVerify", { paramType: "md5", identifyNum: partialId(person.idcard), userName: partialName(person.name) }))
        .resultObject?.bizCode;
    assert.equal(await ask(ZHANG), "2");
    assert.equal(await ask(WITH_X), "1");
  });

  it("no plain identity number or name in the logs or the store, nor a partial form (the last test: it closes the store)", async () => {
    const logs = server.logs.join("\n");
    const stored = (await server.storedData()).toString("latin1");
    const sent = [partialId(ZHANG.idcard), partialName(ZHANG.name), partialId(WITH_X.idcard), md5("19900307")];
    for (const raw of [ZHANG.idcard, ZHANG.name, WITH_X.idcard, WITH_X.name, BUSY.idcard, BUSY.name, "李四", "19900307", ...sent]) {
      assert.ok(!logs.includes(raw), `${raw} in the logs`);
      assert.ok(!stored.includes(Buffer.from(raw).toString("latin1")), `${raw} in the store`);
    }
    assert.match(logs, /"action":"Id2MetaStandardVerify"/);
  });
});

describeBackends("Id2Meta's md5 form and plain calls share one daily cap per person", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_DAILY_CAP: "2" }, backend);
    await server.addRecords([ZHANG]);
  });
  after(() => server.close());

  it("two plain calls, then the md5 form is Code 403; two md5 calls, then the plain one is 403", async () => {
    const md5Fields = { paramType: "md5", identifyNum: partialId(ZHANG.idcard), userName: partialName(ZHANG.name) };
    const plain = { paramType: "normal", identifyNum: ZHANG.idcard, userName: ZHANG.name };
    const first = cloudauth(server.port, await server.addAccount("plain-first"), "v3");
    for (let i = 0; i < 2; i++) assert.equal((await first.call("Id2MetaVerify", plain)).resultObject?.bizCode, "1");
    const capped = await first.call("Id2MetaStandardVerify", md5Fields);
    assert.equal(capped.code, "403");
    assert.equal(capped.message, "异常重复调用");
    const second = cloudauth(server.port, await server.addAccount("md5-first"), "v2");
    for (let i = 0; i < 2; i++) assert.equal((await second.call("Id2MetaVerify", md5Fields)).resultObject?.bizCode, "1");
    assert.equal((await second.call("Id2MetaVerify", plain)).code, "403");
  });
});
