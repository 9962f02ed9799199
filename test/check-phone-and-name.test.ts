/**
 * CheckPhoneAndName (faceid-family.md §3.4) through the official Node SDK in TC3 POST, TC3 GET and v1 HmacSHA256:
 * every Result of its table (a positive 1 for a mismatch, no Isp), its daily cap, and the ledger.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { FaceIdClient } from "../src/client/faceid";
import { PHONE_AND_NAME_RESULTS, type PhoneAndNameResultCode } from "../src/faceid/results";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tencentcloud = require("tencentcloud-sdk-nodejs");

const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };

describeBackends("CheckPhoneAndName", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("two-elements");
    await server.addRecords([
      ZHANG,
      { phone: "13600007777", name: "周九", idcard: "420102198506124573", status: "suspended" },
      { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" },
    ]);
  });
  after(() => server.close());

  const client = (profile: Record<string, unknown>, httpProfile: Record<string, unknown>) =>
    new tencentcloud.faceid.v20180301.Client({
      credential: key,
      region: "ap-guangzhou",
      profile: { ...profile, httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://", ...httpProfile } },
    });
  const charged = async () =>
    (await server.installation.store.ledger.usage({ accountId: key.accountId })).reduce((n, r) => n + r.charged, 0);

  it("every Result of the table in each signing mode, with the table's description and charge", async () => {
    const before = await charged();
    let expected = 0;
    const cases: Array<[{ Mobile: string; Name: string }, PhoneAndNameResultCode]> = [
      [{ Mobile: ZHANG.phone, Name: ZHANG.name }, "0"],
      [{ Mobile: `+86 ${ZHANG.phone}`, Name: ` ${ZHANG.name} ` }, "0"],
      [{ Mobile: ZHANG.phone, Name: "李四" }, "1"],
      [{ Mobile: "13600007777", Name: "周九" }, "1"], // a suspended record never matches
      [{ Mobile: "13900009999", Name: ZHANG.name }, "-1"],
      [{ Mobile: "13500009999", Name: "吴十" }, "-3"], // a record marked busy: the engine's service is away
      [{ Mobile: ZHANG.phone, Name: "张3" }, "-4"],
      [{ Mobile: "1380000123", Name: ZHANG.name }, "-5"],
      [{ Mobile: "17000001234", Name: ZHANG.name }, "-13"],
    ];
    for (const [profile, httpProfile] of [
      [{}, {}],
      [{}, { reqMethod: "GET" }],
      [{ signMethod: "HmacSHA256" }, {}],
    ] as const) {
      const c = client(profile, httpProfile);
      for (const [params, result] of cases) {
        const answer = await c.CheckPhoneAndName(params);
        assert.equal(answer.Result, result, JSON.stringify(params));
        assert.equal(answer.Description, PHONE_AND_NAME_RESULTS[result].en);
        assert.equal(answer.Isp, undefined, "CheckPhoneAndName answers no Isp");
        if (PHONE_AND_NAME_RESULTS[result].charged) expected++;
      }
    }
    assert.equal(await charged(), before + expected, "ledger rows = charged answers");
    const logged = server.logs.filter((l) => l.includes('"action":"CheckPhoneAndName"'));
    assert.ok(logged.length >= cases.length * 3);
    assert.ok(
      logged.every((l) => !l.includes(ZHANG.phone) && !l.includes(ZHANG.name)),
      "no raw value in the log",
    );
  });

  it("the typed FaceIdClient calls it", async () => {
    const c = new FaceIdClient({ credential: key, endpoint: `http://127.0.0.1:${server.port}` });
    assert.equal((await c.checkPhoneAndName({ Mobile: ZHANG.phone, Name: "李四" })).Result, "1");
    c.close();
  });

  it("zh-CN descriptions; the daily cap answers -6, uncharged", async () => {
    const capped = await server.addAccount("capped");
    await server.installation.store.accounts.update(capped.accountId, { dailyCap: 1 });
    const c = new tencentcloud.faceid.v20180301.Client({
      credential: capped,
      region: "ap-guangzhou",
      profile: { language: "zh-CN", httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://" } },
    });
    const first = await c.CheckPhoneAndName({ Mobile: ZHANG.phone, Name: ZHANG.name });
    assert.deepEqual([first.Result, first.Description], ["0", "验证结果一致"]);
    const second = await c.CheckPhoneAndName({ Mobile: ZHANG.phone, Name: ZHANG.name });
    assert.deepEqual([second.Result, second.Description], ["-6", "认证次数超过当日限制，请次日重试"]);
    const usage = await server.installation.store.ledger.usage({ accountId: capped.accountId });
    assert.equal(
      usage.reduce((n, r) => n + r.charged, 0),
      1,
    );
  });
});
