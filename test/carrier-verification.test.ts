/**
 * PhoneVerificationCMCC / CTCC / CUCC (faceid-family.md §3.2, §7.2) through the official Node SDK in TC3 POST,
 * TC3 GET and v1 HmacSHA256: every Result of the table, another carrier's number -13, no daily cap, and the
 * ledger holding exactly the charged answers.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { FaceIdClient } from "../src/client/faceid";
import { CARRIER_RESULTS } from "../src/faceid/results";
import { faceidSdk, SIGNING_MODES } from "./helpers/sdk";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

/** One subscriber on record per carrier. */
const PEOPLE = {
  PhoneVerificationCMCC: { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143", isp: "移动" },
  PhoneVerificationCTCC: { Phone: "18900005678", Name: "买买提·吐尔逊", IdCard: "32010219881115306X", isp: "电信" },
  PhoneVerificationCUCC: { Phone: "18600002468", Name: "李娜", IdCard: "440305200002295620", isp: "联通" },
} as const;
type CarrierAction = keyof typeof PEOPLE;
const ACTIONS = Object.keys(PEOPLE) as CarrierAction[];

describeBackends("carrier variants of PhoneVerification", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("carriers");
    // A daily cap of 1: these actions have none, so repeating a person must still be answered.
    await server.installation.store.accounts.update(key.accountId, { dailyCap: 1 });
    await server.addRecords([
      ...Object.values(PEOPLE).map((p) => ({ phone: p.Phone, name: p.Name, idcard: p.IdCard })),
      { phone: "13800009999", name: "吴十", idcard: "110108199502030043", status: "busy" },
      { phone: "13800005555", name: "孙八", idcard: "310115197511201125", isp: "telecom" },
    ]);
  });
  after(() => server.close());

  const modes = SIGNING_MODES;
  const client = (profile: Record<string, unknown>, httpProfile: Record<string, unknown>) =>
    faceidSdk(server.port, key, { profile, httpProfile, language: "zh-CN" });

  it("every Result of the table, in each signing mode, with the table's description and charge", async () => {
    const charged = async () =>
      (await server.installation.store.ledger.usage({ accountId: key.accountId })).reduce((n, r) => n + r.charged, 0);
    const before = await charged();
    let expectedCharges = 0;
    for (const [, profile, httpProfile] of modes) {
      const c = client(profile, httpProfile);
      for (const action of ACTIONS) {
        const p = PEOPLE[action];
        const other = PEOPLE[ACTIONS[(ACTIONS.indexOf(action) + 1) % 3]!];
        const cases: Array<[Record<string, string>, keyof typeof CARRIER_RESULTS, string]> = [
          [{ Phone: p.Phone, Name: p.Name, IdCard: p.IdCard }, "0", p.isp],
          [{ Phone: p.Phone, Name: p.Name, IdCard: p.IdCard }, "0", p.isp], // again: no daily cap
          [{ Phone: p.Phone, Name: "王五", IdCard: p.IdCard }, "-4", p.isp],
          [{ Phone: "1380000123", Name: p.Name, IdCard: p.IdCard }, "-6", ""],
          [{ Phone: p.Phone, Name: p.Name, IdCard: `${p.IdCard.slice(0, 17)}${p.IdCard.endsWith("1") ? "2" : "1"}` }, "-7", p.isp],
          [{ Phone: p.Phone, Name: "张3", IdCard: p.IdCard }, "-8", p.isp],
          [{ Phone: `${p.Phone.slice(0, 7)}7777`, Name: p.Name, IdCard: p.IdCard }, "-9", p.isp],
          [{ Phone: other.Phone, Name: other.Name, IdCard: other.IdCard }, "-13", other.isp],
        ];
        if (action === "PhoneVerificationCMCC")
          cases.push([{ Phone: "13800009999", Name: "吴十", IdCard: "110108199502030043" }, "-11", "移动"]);
        for (const [params, result, isp] of cases) {
          const answer = await c[action](params);
          const label = `${action} ${JSON.stringify(params)}`;
          assert.equal(answer.Result, result, label);
          assert.equal(answer.Description, CARRIER_RESULTS[result].zh, label);
          assert.equal(answer.Isp, isp, label);
          assert.equal(answer.ResultDetail, undefined, label);
          if (CARRIER_RESULTS[result].charged) expectedCharges++;
        }
      }
    }
    assert.equal(await charged(), before + expectedCharges, "ledger rows = charged answers");
  });

  it("the typed FaceIdClient calls each variant", async () => {
    const c = new FaceIdClient({ credential: key, endpoint: `http://127.0.0.1:${server.port}` });
    const { isp: _cmcc, ...cmcc } = PEOPLE.PhoneVerificationCMCC;
    const { isp: _ctcc, ...ctcc } = PEOPLE.PhoneVerificationCTCC;
    const { isp: _cucc, ...cucc } = PEOPLE.PhoneVerificationCUCC;
    assert.deepEqual(
      [
        (await c.phoneVerificationCMCC(cmcc)).Result,
        (await c.phoneVerificationCTCC(ctcc)).Result,
        (await c.phoneVerificationCUCC(cucc)).Result,
      ],
      ["0", "0", "0"],
    );
    assert.equal((await c.phoneVerificationCTCC(cmcc)).Result, "-13");
    // A ported number is of the carrier on its record, whatever its segment says.
    const ported = { Phone: "13800005555", Name: "孙八", IdCard: "310115197511201125" };
    assert.deepEqual([(await c.phoneVerificationCTCC(ported)).Result, (await c.phoneVerificationCMCC(ported)).Result], ["0", "-13"]);
    c.close();
  });

  it("has no VerifyMode: it is an unknown parameter", async () => {
    const c = client({}, {});
    const p = PEOPLE.PhoneVerificationCMCC;
    await assert.rejects(
      c.PhoneVerificationCMCC({ ...p, isp: undefined, VerifyMode: "1" }),
      (err: { code?: string }) => err.code === "UnknownParameter",
    );
  });
});
