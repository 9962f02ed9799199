/**
 * IdCardVerification (faceid-family.md §3.7) through the official Node SDK in TC3 POST, TC3 GET and v1
 * HmacSHA256: every Result it answers, its daily cap, and the ledger.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { FaceIdClient } from "../src/client/faceid";
import { ID_CARD_RESULTS, type IdCardResultCode } from "../src/faceid/results";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tencentcloud = require("tencentcloud-sdk-nodejs");

const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };

describeBackends("IdCardVerification", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("id-two-elements");
    await server.addRecords([
      ZHANG,
      // a second number of the same person
      { phone: "13900001111", name: ZHANG.name, idcard: ZHANG.idcard },
      { phone: "13600007777", name: "周九", idcard: "420102198506124573", status: "suspended" },
      { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" },
    ]);
  });
  after(() => server.close());

  const charged = async (accountId: string) =>
    (await server.installation.store.ledger.usage({ accountId })).reduce((n, r) => n + r.charged, 0);

  it("every Result it answers, in each signing mode, with the table's description and charge", async () => {
    const before = await charged(key.accountId);
    let expected = 0;
    const cases: Array<[{ IdCard: string; Name: string }, IdCardResultCode]> = [
      [{ IdCard: ZHANG.idcard, Name: ZHANG.name }, "0"],
      [{ IdCard: ZHANG.idcard.toLowerCase(), Name: ZHANG.name }, "0"],
      [{ IdCard: ZHANG.idcard, Name: "李四" }, "-1"],
      [{ IdCard: "420102198506124573", Name: "周九" }, "-1"], // only a suspended record: never a match
      [{ IdCard: "110105199003072140", Name: ZHANG.name }, "-2"],
      [{ IdCard: ZHANG.idcard, Name: "张3" }, "-3"],
      [{ IdCard: "110108199502030043", Name: "吴十" }, "-4"], // a record marked busy
      [{ IdCard: "32010219881115306X", Name: "买买提·吐尔逊" }, "-5"],
    ];
    for (const [profile, httpProfile] of [
      [{}, {}],
      [{}, { reqMethod: "GET" }],
      [{ signMethod: "HmacSHA256" }, {}],
    ] as const) {
      const c = new tencentcloud.faceid.v20180301.Client({
        credential: key,
        region: "ap-guangzhou",
        profile: { ...profile, httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://", ...httpProfile } },
      });
      for (const [params, result] of cases) {
        const answer = await c.IdCardVerification(params);
        assert.equal(answer.Result, result, JSON.stringify(params));
        assert.equal(answer.Description, ID_CARD_RESULTS[result].en);
        if (ID_CARD_RESULTS[result].charged) expected++;
      }
    }
    assert.equal(await charged(key.accountId), before + expected, "ledger rows = charged answers");
    const logged = server.logs.filter((l) => l.includes('"action":"IdCardVerification"'));
    assert.ok(logged.length >= cases.length * 3);
    assert.ok(
      logged.every((l) => !l.includes(ZHANG.idcard) && !l.includes(ZHANG.name)),
      "no raw value in the log",
    );
  });

  it("zh-CN descriptions; the daily cap per identity number answers -7, uncharged; the typed client", async () => {
    const capped = await server.addAccount("capped");
    await server.installation.store.accounts.update(capped.accountId, { dailyCap: 1 });
    const c = new FaceIdClient({ credential: capped, endpoint: `http://127.0.0.1:${server.port}`, language: "zh-CN" });
    const first = await c.idCardVerification({ IdCard: ZHANG.idcard, Name: ZHANG.name });
    assert.deepEqual([first.Result, first.Description], ["0", "姓名和身份证号一致"]);
    const second = await c.idCardVerification({ IdCard: ZHANG.idcard, Name: ZHANG.name });
    assert.deepEqual([second.Result, second.Description], ["-7", "认证次数超过当日限制"]);
    c.close();
    assert.equal(await charged(capped.accountId), 1);
    // The action's own codes (-7, -4) reach the operators' metrics as a daily refusal and a source error.
    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    assert.equal(/sanyao_limit_refusals_total\{limit="daily"\} (\d+)/.exec(metrics)?.[1], "1");
    assert.equal(/sanyao_source_errors_total (\d+)/.exec(metrics)?.[1], "3", "the three -4 answers of the first test");
  });
});
