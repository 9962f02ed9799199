/**
 * MobileStatus and MobileNetworkTimeVerification (faceid-family.md §3.5, §3.6, §7.11–14) through the official Node
 * SDK in TC3 POST, TC3 GET and v1 HmacSHA256: every Result, the StatusCode and Range values, the records' new
 * columns, the daily caps, and the ledger (tenure's -2 and -3 are charged).
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { FaceIdClient } from "../src/client/faceid";
import { completedMonths, tenureRange } from "../src/faceid/number-checks";
import { MOBILE_STATUS_RESULTS, NETWORK_TIME_RESULTS } from "../src/faceid/results";
import { chinaDate } from "../src/rules/precheck";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tencentcloud = require("tencentcloud-sdk-nodejs");

// The server's clock stands at the suite's start, so the China-time day cannot turn under it.
const NOW = Date.now();
const TODAY = chinaDate(NOW); // YYYYMMDD
/** The first of the month `n` months before today's month: exactly n completed months ago. */
function monthsAgo(n: number): string {
  const total = Number(TODAY.slice(0, 4)) * 12 + Number(TODAY.slice(4, 6)) - 1 - n;
  return `${Math.floor(total / 12)}-${String((total % 12) + 1).padStart(2, "0")}-01`;
}
const TODAY_ISO = `${TODAY.slice(0, 4)}-${TODAY.slice(4, 6)}-${TODAY.slice(6, 8)}`;
const person = (phone: string, extra: Record<string, string> = {}) => ({ phone, name: "张三", idcard: "110105199003072143", ...extra });

describeBackends("number checks", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    server.setNow(NOW);
    key = await server.addAccount("numbers");
    await server.addRecords([
      person("13800000000"),
      person("13800000001", { line_status: "suspended", network_since: monthsAgo(3) }),
      person("13800000002", { line_status: "cancelled", network_since: monthsAgo(30) }),
      person("13800000004", { line_status: "not-on-network", network_since: monthsAgo(11) }),
      person("13800000005", { line_status: "unusable", network_since: monthsAgo(6) }),
      person("13800000006", { line_status: "normal", network_since: TODAY_ISO }),
      person("13500009999", { status: "busy" }),
    ]);
  });
  after(() => server.close());

  const modes = [
    [{}, {}],
    [{}, { reqMethod: "GET" }],
    [{ signMethod: "HmacSHA256" }, {}],
  ] as const;
  const client = (profile: object, httpProfile: object, credential = key) =>
    new tencentcloud.faceid.v20180301.Client({
      credential,
      region: "ap-guangzhou",
      profile: { ...profile, httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://", ...httpProfile } },
    });
  const charged = async (accountId: string) =>
    (await server.installation.store.ledger.usage({ accountId })).reduce((n, r) => n + r.charged, 0);

  it("tenure buckets count completed calendar months in China time", () => {
    assert.deepEqual(
      [completedMonths("2026-11-30", "20261201"), completedMonths("2026-09-01", "20261201"), completedMonths("2025-12-02", "20261201")],
      [0, 3, 11],
    );
    assert.deepEqual(
      ["2026-10-01", "2026-09-01", "2026-06-01", "2025-12-01", "2024-12-01", "2024-12-02"].map((d) => tenureRange(d, "20261201")),
      ["[0,3)", "[3,6)", "[6,12)", "[12,24)", "[24,+)", "[12,24)"],
    );
  });

  it("MobileStatus: every Result, the StatusCode of each line status, 99 on every failure", async () => {
    const cases: Array<[string, string, number]> = [
      ["13800000000", "0", 0], // on record without line_status: a normal line
      ["13800000001", "0", 1],
      ["13800000002", "0", 2],
      ["13800000004", "0", 4],
      ["13800000005", "0", 5],
      ["13800000006", "0", 0],
      ["13900000000", "-1", 99],
      ["1380000000", "-2", 99],
      ["13500009999", "-3", 99],
      ["17000001234", "-13", 99],
    ];
    const before = await charged(key.accountId);
    let expected = 0;
    for (const [profile, httpProfile] of modes) {
      const c = client(profile, httpProfile);
      for (const [Mobile, result, status] of cases) {
        const a = await c.MobileStatus({ Mobile });
        assert.deepEqual([a.Result, a.StatusCode, a.Description], [result, status, MOBILE_STATUS_RESULTS[result as "0"].en], Mobile);
        if (MOBILE_STATUS_RESULTS[result as "0"].charged) expected++;
      }
    }
    assert.equal(await charged(key.accountId), before + expected, "ledger rows = charged answers");
  });

  it('MobileNetworkTimeVerification: every Result, the Range of each tenure, "" on every failure; -2 and -3 charged', async () => {
    const cases: Array<[string, string, string]> = [
      ["13800000006", "0", "[0,3)"],
      ["13800000001", "0", "[3,6)"],
      ["13800000005", "0", "[6,12)"],
      ["13800000004", "0", "[6,12)"],
      ["13800000002", "0", "[24,+)"],
      ["13800000000", "-3", ""], // on record, no network_since
      ["13900000000", "-2", ""],
      ["1380000000", "-1", ""],
      ["13500009999", "-4", ""],
      ["17000001234", "-13", ""],
    ];
    const before = await charged(key.accountId);
    let expected = 0;
    for (const [profile, httpProfile] of modes) {
      const c = client(profile, httpProfile);
      for (const [Mobile, result, range] of cases) {
        const a = await c.MobileNetworkTimeVerification({ Mobile });
        assert.deepEqual([a.Result, a.Range, a.Description], [result, range, NETWORK_TIME_RESULTS[result as "0"].en], Mobile);
        if (NETWORK_TIME_RESULTS[result as "0"].charged) expected++;
      }
    }
    assert.equal(expected, 7 * 3);
    assert.equal(await charged(key.accountId), before + expected, "ledger rows = charged answers");
  });

  it("the import refuses a line status or network date it does not know, naming the column, never the value", async () => {
    await assert.rejects(server.addRecords([person("13800000010", { line_status: "gone" })]), /line_status must be normal, suspended/);
    await assert.rejects(server.addRecords([person("13800000011", { network_since: "2026-02-30" })]), /network_since must be a date/);
    await assert.rejects(server.addRecords([person("13800000012", { network_since: "2999-01-01" })]), /not after today/);
  });

  it("each action's own daily-cap code: MobileStatus -4, MobileNetworkTimeVerification -5, both with the failure value", async () => {
    const capped = await server.addAccount("capped");
    await server.installation.store.accounts.update(capped.accountId, { dailyCap: 1 });
    const c = client({}, {}, capped);
    assert.equal((await c.MobileStatus({ Mobile: "13800000001" })).StatusCode, 1);
    assert.deepEqual(Object.values(await c.MobileStatus({ Mobile: "13800000001" })).slice(0, 3), [
      "-4",
      MOBILE_STATUS_RESULTS["-4"].en,
      99,
    ]);
    assert.equal((await c.MobileNetworkTimeVerification({ Mobile: "13800000001" })).Range, "[3,6)");
    const capped2 = await c.MobileNetworkTimeVerification({ Mobile: "13800000001" });
    assert.deepEqual([capped2.Result, capped2.Range], ["-5", ""]);
    const typed = new FaceIdClient({ credential: key, endpoint: `http://127.0.0.1:${server.port}` });
    assert.equal((await typed.mobileStatus({ Mobile: "13800000002" })).StatusCode, 2);
    assert.equal((await typed.mobileNetworkTimeVerification({ Mobile: "13800000002" })).Range, "[24,+)");
    typed.close();
  });
});
