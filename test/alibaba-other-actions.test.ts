/**
 * Cloudauth's Mobile2MetaVerify (through pop-core: the SDK at 3.5.0 lacks it), Id2MetaVerify, Id2MetaStandardVerify,
 * MobileOnlineStatus and MobileOnlineTime (through the official SDK, V3 and V2): every row of their tables from the
 * same records as FaceID's checks, what each bills, and the ledger; Mobile2MetaVerify's md5 mode, its daily cap, and a
 * record imported before its name digest was kept.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { chinaDate } from "../src/rules/precheck";
import { type AlibabaAnswer, cloudauth, forgetNameDigest, md5, popCore, SIGNINGS } from "./helpers/alibaba";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const NOW = Date.now();
const TODAY = chinaDate(NOW);
function monthsAgo(n: number): string {
  const total = Number(TODAY.slice(0, 4)) * 12 + Number(TODAY.slice(4, 6)) - 1 - n;
  return `${Math.floor(total / 12)}-${String((total % 12) + 1).padStart(2, "0")}-01`;
}
const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };
const person = (phone: string, extra: Record<string, string>) => ({ phone, name: "王五", idcard: "110105199003072143", ...extra });
const BUSY = { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" };
const SUSPENDED = person("13800000010", { status: "suspended" });
/** imported, then made as an import before migration 17 left it (no name digest) */
const BEFORE_16 = { phone: "13800000011", name: "赵六", idcard: "420102198506124573" };

/** [Mobile, Code, BizCode, SubCode, billed] */
const STATUS_ROWS: Array<[string, string, string?, string?, boolean?]> = [
  ["13800001234", "200", "1", "101", true],
  ["13800000001", "200", "2", "201", true],
  ["13800000002", "200", "2", "202", true],
  ["13800000005", "200", "2", "203", true],
  ["13800000004", "200", "2", "204", true],
  ["13900005678", "200", "3", "301", false],
  ["1380000123", "401"],
  ["17000001234", "405"],
  [BUSY.phone, "402"],
];
/** [Mobile, Code, BizCode, TimeCode, billed] */
const TIME_ROWS: Array<[string, string, string?, string?, boolean?]> = [
  ["13800000006", "200", "1", "1", true],
  ["13800000001", "200", "1", "2", true],
  ["13800000005", "200", "1", "3", true],
  ["13800000007", "200", "1", "4", true],
  ["13800000002", "200", "1", "5", true],
  ["13800001234", "200", "3", undefined, false],
  ["13900005678", "200", "3", undefined, false],
  ["1380000123", "401"],
  ["17000001234", "405"],
  [BUSY.phone, "402"],
];
/** [IdentifyNum, UserName, Code, BizCode, billed] */
const ID_ROWS: Array<[string, string, string, string?, boolean?]> = [
  [ZHANG.idcard, ZHANG.name, "200", "1", true],
  [ZHANG.idcard, "李四", "200", "2", true],
  ["110105198511111239", ZHANG.name, "200", "3", false],
  ["110105199003072144", ZHANG.name, "401"],
  [ZHANG.idcard, "x", "401"],
  [BUSY.idcard, BUSY.name, "402"],
];

describeBackends("Cloudauth's other phone-family actions", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, backend);
    server.setNow(NOW);
    await server.addRecords([
      ZHANG,
      BUSY,
      person("13800000001", { line_status: "suspended", network_since: monthsAgo(3) }),
      person("13800000002", { line_status: "cancelled", network_since: monthsAgo(30) }),
      person("13800000004", { line_status: "not-on-network", network_since: monthsAgo(11) }),
      person("13800000005", { line_status: "unusable", network_since: monthsAgo(6) }),
      person("13800000006", { line_status: "normal", network_since: `${TODAY.slice(0, 4)}-${TODAY.slice(4, 6)}-${TODAY.slice(6, 8)}` }),
      person("13800000007", { network_since: monthsAgo(12) }),
      SUSPENDED,
      BEFORE_16,
    ]);
    await forgetNameDigest(server, BEFORE_16.phone);
  });
  after(() => server.close());

  const charged = async (accountId: string) =>
    (await server.installation.store.ledger.usage({ accountId })).reduce((n, r) => n + r.charged, 0);

  for (const signing of SIGNINGS) {
    it(`MobileOnlineStatus, MobileOnlineTime, Id2MetaVerify and Id2MetaStandardVerify, every row (${signing}); the ledger`, async () => {
      const account = await server.addAccount(`others-${signing}`);
      const client = cloudauth(server.port, account, signing);
      let billed = 0;
      const check = (res: AlibabaAnswer, what: string, code: string, expected: Record<string, string | undefined> | undefined) => {
        assert.equal(res.code, code, what);
        if (code !== "200") return assert.equal(res.resultObject, undefined, what);
        for (const [k, v] of Object.entries(expected ?? {}))
          assert.equal((res.resultObject as Record<string, unknown>)[k], v, `${what} ${k}`);
      };
      for (const [mobile, code, biz, sub, bills] of STATUS_ROWS) {
        const res = await client.call("MobileOnlineStatus", { paramType: "normal", mobile });
        check(res, `status ${mobile}`, code, {
          bizCode: biz,
          subCode: sub,
          ispName: mobile.startsWith("138") || mobile.startsWith("139") ? "CMCC" : undefined,
        });
        if (bills) billed++;
      }
      for (const [mobile, code, biz, time, bills] of TIME_ROWS) {
        const res = await client.call("MobileOnlineTime", { paramType: "normal", mobile });
        check(res, `time ${mobile}`, code, { bizCode: biz, timeCode: time });
        if (bills) billed++;
      }
      for (const action of ["Id2MetaVerify", "Id2MetaStandardVerify"]) {
        for (const [identifyNum, userName, code, biz, bills] of ID_ROWS) {
          const res = await client.call(action, { paramType: "normal", identifyNum, userName });
          check(res, `${action} ${code} ${biz}`, code, { bizCode: biz });
          if (code === "200") assert.equal(res.resultObject?.ispName, undefined);
          if (bills) billed++;
        }
        assert.equal((await client.call(action, { paramType: "normal", identifyNum: ZHANG.idcard })).code, "400");
        assert.equal((await client.call(action, { paramType: "sm2", identifyNum: ZHANG.idcard, userName: ZHANG.name })).code, "401");
      }
      // md5 mode: the number found by its digest; no IspName (nothing names the number)
      const hashed = async (action: string, mobile: string) => client.call(action, { paramType: "md5", mobile });
      assert.deepEqual(
        { ...(await hashed("MobileOnlineStatus", md5("13800000002"))).resultObject },
        { bizCode: "2", subCode: "202", ispName: "" },
      );
      assert.deepEqual(
        { ...(await hashed("MobileOnlineStatus", md5("13900005678").toUpperCase())).resultObject },
        { bizCode: "3", subCode: "301", ispName: "" },
      );
      assert.deepEqual(
        { ...(await hashed("MobileOnlineTime", md5("13800000007"))).resultObject },
        { bizCode: "1", timeCode: "4", ispName: "" },
      );
      assert.deepEqual({ ...(await hashed("MobileOnlineTime", md5(ZHANG.phone))).resultObject }, { bizCode: "3", ispName: "" });
      assert.equal((await hashed("MobileOnlineTime", "not-a-digest")).code, "401");
      assert.equal((await hashed("MobileOnlineStatus", md5(BUSY.phone))).code, "402");
      billed += 2;
      assert.equal(billed, 5 + 5 + 2 * 2 + 2);
      assert.equal(await charged(account.accountId), billed);
    });
  }

  it("Mobile2MetaVerify through pop-core, GET and POST: its table, IspName, and pop-core's own errors for Code ≠ 200", async () => {
    const account = await server.addAccount("two-meta");
    const call = popCore(server.port, account);
    let billed = 0;
    for (const method of ["GET", "POST"] as const) {
      const rows: Array<[Record<string, string>, string, string?]> = [
        [{ Mobile: ZHANG.phone, UserName: ZHANG.name }, "200", "1"],
        [{ Mobile: ZHANG.phone, UserName: "李四" }, "200", "2"],
        [{ Mobile: "13900005678", UserName: ZHANG.name }, "200", "3"],
        [{ Mobile: "1380000123", UserName: ZHANG.name }, "401"],
        [{ Mobile: ZHANG.phone, UserName: "x" }, "401"],
        [{ Mobile: "17000001234", UserName: ZHANG.name }, "405"],
        [{ Mobile: BUSY.phone, UserName: BUSY.name }, "402"],
        [{ Mobile: ZHANG.phone }, "400"],
      ];
      for (const [fields, code, biz] of rows) {
        const sent = call("Mobile2MetaVerify", { ParamType: "normal", ...fields }, method);
        if (code !== "200") {
          await assert.rejects(sent, { name: `${code}Error`, code });
          continue;
        }
        const res = await sent;
        assert.equal(res.Code, "200");
        assert.deepEqual({ ...(res.ResultObject as object) }, { BizCode: biz, IspName: "CMCC" });
        if (biz !== "3") billed++;
      }
    }
    assert.equal(await charged(account.accountId), billed);
    const usage = await server.installation.store.ledger.usage({ accountId: account.accountId });
    assert.deepEqual(
      usage.map((r) => [r.action, r.charged, r.amount]),
      [["Mobile2MetaVerify", 4, 80]],
    );
  });

  it("Mobile2MetaVerify in md5 mode through pop-core, GET and POST: every row of its table, either hex case, the ledger", async () => {
    const account = await server.addAccount("md5-two-meta");
    const call = popCore(server.port, account);
    const hex = { phone: md5(ZHANG.phone), name: md5(ZHANG.name) };
    let billed = 0;
    for (const method of ["GET", "POST"] as const) {
      const rows: Array<[Record<string, string>, string, string?, string?]> = [
        [{ Mobile: hex.phone, UserName: hex.name }, "200", "1", "CMCC"],
        [{ Mobile: ` ${hex.phone.toUpperCase()} `, UserName: hex.name.toUpperCase() }, "200", "1", "CMCC"],
        [{ Mobile: hex.phone, UserName: md5("李四") }, "200", "2", "CMCC"],
        [{ Mobile: md5(SUSPENDED.phone), UserName: md5(SUSPENDED.name) }, "200", "2", "CMCC"],
        [{ Mobile: md5("13900005678"), UserName: hex.name }, "200", "3", ""],
        [{ Mobile: md5(BEFORE_16.phone), UserName: md5(BEFORE_16.name) }, "200", "3", ""],
        [{ Mobile: ZHANG.phone, UserName: hex.name }, "401"],
        [{ Mobile: hex.phone, UserName: ZHANG.name }, "401"],
        [{ Mobile: `${hex.phone}0`, UserName: hex.name }, "401"],
        [{ Mobile: md5(BUSY.phone), UserName: md5(BUSY.name) }, "402"],
        [{ Mobile: hex.phone }, "400"],
      ];
      for (const [fields, code, biz, isp] of rows) {
        const sent = call("Mobile2MetaVerify", { ParamType: "md5", ...fields }, method);
        const what = `${method} ${JSON.stringify(fields)}`;
        if (code !== "200") {
          await assert.rejects(sent, { name: `${code}Error`, code }, what);
          continue;
        }
        const res = await sent;
        assert.equal(res.Code, "200", what);
        assert.deepEqual({ ...(res.ResultObject as object) }, { BizCode: biz, IspName: isp }, what);
        if (biz !== "3") billed++;
      }
    }
    assert.equal(billed, 8);
    const usage = await server.installation.store.ledger.usage({ accountId: account.accountId });
    assert.deepEqual(
      usage.map((r) => [r.action, r.charged, r.amount]),
      [["Mobile2MetaVerify", billed, billed * 20]],
    );
  });

  it("md5 Mobile2MetaVerify is capped with CheckPhoneAndName per number; a digest that finds no record is not counted", async () => {
    const account = await server.addAccount("md5-two-meta-cap");
    await server.installation.store.accounts.update(account.accountId, { dailyCap: 2 });
    const call = popCore(server.port, account);
    const hashed = (phone: string, name: string) =>
      call("Mobile2MetaVerify", { ParamType: "md5", Mobile: md5(phone), UserName: md5(name) }, "POST");
    // the pre-migration record: found as no record, three times, none counted
    for (let i = 0; i < 3; i++)
      assert.equal(((await hashed(BEFORE_16.phone, BEFORE_16.name)).ResultObject as { BizCode: string }).BizCode, "3");
    assert.equal(((await hashed(ZHANG.phone, "李四")).ResultObject as { BizCode: string }).BizCode, "2");
    assert.equal(
      (
        (await call("Mobile2MetaVerify", { ParamType: "normal", Mobile: ZHANG.phone, UserName: ZHANG.name }, "GET")).ResultObject as {
          BizCode: string;
        }
      ).BizCode,
      "1",
    );
    await assert.rejects(hashed(ZHANG.phone, ZHANG.name), { code: "403" });
    await assert.rejects(call("Mobile2MetaVerify", { ParamType: "normal", Mobile: ZHANG.phone, UserName: ZHANG.name }, "GET"), {
      code: "403",
    });
    // the pre-migration record's number was never counted: its normal-mode calls still pass
    for (let i = 0; i < 2; i++)
      assert.equal(
        (
          (await call("Mobile2MetaVerify", { ParamType: "normal", Mobile: BEFORE_16.phone, UserName: BEFORE_16.name }, "GET"))
            .ResultObject as {
            BizCode: string;
          }
        ).BizCode,
        "1",
      );
    const usage = await server.installation.store.ledger.usage({ accountId: account.accountId });
    assert.deepEqual(
      usage.map((r) => [r.action, r.charged]),
      [["Mobile2MetaVerify", 4]],
    );
  });

  it("md5 MobileOnline* count with their FaceID checks' caps per number once the digest finds it; no record is not counted", async () => {
    const account = await server.addAccount("md5-online-cap");
    await server.installation.store.accounts.update(account.accountId, { dailyCap: 2 });
    const client = cloudauth(server.port, account, "v3");
    const status = (paramType: string, mobile: string) => client.call("MobileOnlineStatus", { paramType, mobile });
    const phone = "13800000002";
    // a digest of a number not on record: answered, never counted
    for (let i = 0; i < 3; i++) assert.equal((await status("md5", md5("13900005678"))).resultObject?.bizCode, "3");
    assert.equal((await status("normal", phone)).resultObject?.bizCode, "2");
    assert.equal((await status("md5", md5(phone))).resultObject?.bizCode, "2");
    // the third attempt on the number, whichever ParamType: over the cap, unbilled
    assert.equal((await status("md5", md5(phone))).code, "403");
    assert.equal((await status("normal", phone)).code, "403");
    // MobileOnlineTime is another check with a cap of its own
    const time = await client.call("MobileOnlineTime", { paramType: "md5", mobile: md5(phone) });
    assert.deepEqual({ ...time.resultObject }, { bizCode: "1", timeCode: "5", ispName: "" });
    const usage = await server.installation.store.ledger.usage({ accountId: account.accountId });
    assert.deepEqual(usage.map((r) => [r.action, r.charged]).sort(), [
      ["MobileOnlineStatus", 2],
      ["MobileOnlineTime", 1],
    ]);
  });

  it("no raw value, and no bare digest of one, in the logs or the store (the last test: it closes the store)", async () => {
    const logs = server.logs.join("\n");
    const stored = await server.storedData();
    const text = stored.toString("latin1");
    for (const raw of [ZHANG.phone, ZHANG.idcard, ZHANG.name, "李四", SUSPENDED.phone, BEFORE_16.phone, BUSY.phone, BUSY.name]) {
      assert.ok(!logs.includes(raw), "raw value in logs");
      assert.ok(!text.includes(Buffer.from(raw).toString("latin1")), "raw value in the store");
      // a bare md5 of a number is reversible: neither as hex nor as bytes
      const digest = md5(raw);
      assert.ok(!logs.toLowerCase().includes(digest), "a digest in logs");
      assert.ok(!text.toLowerCase().includes(digest) && !stored.includes(Buffer.from(digest, "hex")), "a digest in the store");
    }
    assert.match(logs, /"action":"Mobile2MetaVerify"/);
  });
});
