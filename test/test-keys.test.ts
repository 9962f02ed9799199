/**
 * Test keys (`keys create --test`): fixture answers only, charged to the test ledger and never to the balance,
 * and operator records out of their reach. Then `startSanyao` from "sanyao/testing", used as docs/test-kit.md shows.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { describeBackends, type TestServer, startTestServer } from "./helpers/server";
import { faceidSdk } from "./helpers/sdk";

// An operator's own subscriber, absent from the fixtures.
const OPERATOR_RECORD = { phone: "13600001111", name: "司马光", idcard: "11010519491231002X" };
const FIXTURE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

describeBackends("test keys", (backend) => {
  let server: TestServer;
  let live: { accountId: string; secretId: string; secretKey: string };
  let testKey: { secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    live = await server.addAccount("team");
    await server.addRecords([OPERATOR_RECORD]);
    const made = await server.cli(["keys", "create", "--account", live.accountId, "--test", "--json"]);
    assert.equal(made.code, 0, made.stderr);
    testKey = JSON.parse(made.stdout) as { secretId: string; secretKey: string };
  });
  after(() => server.close());

  const balance = async () =>
    (JSON.parse((await server.cli(["accounts", "show", live.accountId, "--json"])).stdout) as { balance: string }).balance;
  const usage = async (test: boolean) =>
    (
      JSON.parse((await server.cli(["usage", "--account", live.accountId, "--json", ...(test ? ["--test"] : [])])).stdout) as {
        totals: { calls: number; charged: number; amount: string };
      }
    ).totals;

  it("answers from the fixtures only: an operator record is out of reach, a fixture is there", async () => {
    const sdk = faceidSdk(server.port, testKey);
    const operator = { Phone: OPERATOR_RECORD.phone, Name: OPERATOR_RECORD.name, IdCard: OPERATOR_RECORD.idcard };
    assert.equal((await sdk.PhoneVerification(operator)).Result, "-9", "the operator's record is not a fixture");
    assert.equal((await faceidSdk(server.port, live).PhoneVerification(operator)).Result, "0", "the live key reaches it");
    assert.equal((await sdk.PhoneVerification(FIXTURE)).Result, "0");
    assert.equal((await faceidSdk(server.port, live).PhoneVerification(FIXTURE)).Result, "-9", "the fixtures are not operator records");
    assert.equal((await sdk.MobileStatus({ Mobile: "13700002222" })).StatusCode, 5);
  });

  it("charges go to the test ledger: the balance and the real usage do not move", async () => {
    const balanceBefore = await balance();
    const realBefore = await usage(false);
    const testBefore = await usage(true);
    const sdk = faceidSdk(server.port, testKey);
    for (let i = 0; i < 3; i++) assert.equal((await sdk.PhoneVerification(FIXTURE)).Result, "0");
    assert.equal(await balance(), balanceBefore);
    assert.deepEqual(await usage(false), realBefore);
    const deadline = Date.now() + 5000;
    let testAfter = await usage(true);
    while (testAfter.calls < testBefore.calls + 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      testAfter = await usage(true);
    }
    assert.equal(testAfter.charged, testBefore.charged + 3);
    assert.equal(testAfter.calls, testBefore.calls + 3);
    const list = await server.cli(["keys", "list", "--account", live.accountId, "--json"]);
    const keys = (JSON.parse(list.stdout) as { keys: Array<{ secretId: string; test: boolean }> }).keys;
    assert.deepEqual(keys.find((k) => k.secretId === testKey.secretId)?.test, true);
  });
});

// The node:test example of examples/test-kit.test.js (docs/test-kit.md shows it), in TypeScript.
import { startSanyao } from "sanyao/testing";

describeBackends("startSanyao (sanyao/testing)", (backend) => {
  if (backend !== "sqlite") return; // it starts an embedded installation of its own
  // biome-ignore lint/suspicious/noExplicitAny: the SDK is untyped JavaScript
  let sanyao: Awaited<ReturnType<typeof startSanyao>>, client: any;
  before(async () => {
    sanyao = await startSanyao();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tencentcloud = require("tencentcloud-sdk-nodejs");
    client = new tencentcloud.faceid.v20180301.Client({
      credential: sanyao.credential,
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: sanyao.endpoint.replace("http://", ""), protocol: "http://" } },
    });
  });
  after(() => sanyao.close());

  it("answers from the fixtures", async () => {
    const answer = await client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" });
    assert.equal(answer.Result, "0");
  });

  it("fails on purpose, then answers normally again", async () => {
    await sanyao.scenarios.add({ action: "PhoneVerification", error: "InternalError", times: 1 });
    await assert.rejects(client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" }), {
      code: "InternalError",
    });
    const answer = await client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" });
    assert.equal(answer.Result, "0");
  });

  it("tells what my code sent", async () => {
    await client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143", VerifyMode: "1" });
    const [last] = (await sanyao.requests()).slice(-1);
    assert.equal(last?.verifyMode, "1");
    assert.deepEqual(last?.params, ["IdCard", "Name", "Phone", "VerifyMode"]);
  });
});
