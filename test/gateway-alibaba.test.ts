/**
 * Gateway mode and Alibaba's protocol (docs/gateway.md): the gateway forwards Tencent's FaceID to the company's
 * upstream account and has no Alibaba upstream, so while an upstream is set a Cloudauth call on a team's key is
 * refused before anything is counted or charged — not answered from local records the team would take for Alibaba's,
 * charged outside its monthly budget. With no upstream set, Cloudauth answers from the records as ever.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { type AlibabaSdkError, cloudauth, fieldsOf, SIGNINGS } from "./helpers/alibaba";
import { describeBackends, type TestServer, startTestServer } from "./helpers/server";

const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };
const ZHANG_PARAMS = { ParamType: "normal", Mobile: ZHANG.phone, IdentifyNum: ZHANG.idcard, UserName: ZHANG.name };

describeBackends("gateway mode and Cloudauth", (backend) => {
  let upstream: TestServer;
  let gateway: TestServer;
  let team: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    upstream = await startTestServer({}, backend);
    gateway = await startTestServer({}, backend);
    // The gateway holds a record here, so a local answer would be billable (BizCode 1).
    await gateway.addRecords([ZHANG]);
    team = await gateway.addAccount("team-a");
    assert.equal((await gateway.cli(["accounts", "set", team.accountId, "--monthly-budget", "0.01"])).code, 0);
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  const charged = async () =>
    (await gateway.installation.store.ledger.usage({ accountId: team.accountId })).reduce((n, r) => n + r.charged, 0);

  /** The call's Code, or the SDK's error code, retried until it is `want` (the server sees the upstream within a second). */
  async function codeWithin(signing: (typeof SIGNINGS)[number], want: string): Promise<string> {
    let code = "";
    for (let i = 0; i < 60; i++) {
      try {
        code = (await cloudauth(gateway.port, team, signing).call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS))).code;
      } catch (err) {
        code = (err as AlibabaSdkError).code;
      }
      if (code === want) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return code;
  }

  it("while an upstream is set, a team's Cloudauth call is refused (404 InvalidApi.NotFound, saying why), nothing charged", async () => {
    const company = await upstream.addAccount("company");
    const set = await gateway.cli([
      "upstream",
      "set",
      "--secret-id",
      company.secretId,
      "--secret-key",
      company.secretKey,
      "--url",
      upstream.url,
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(await codeWithin("v3", "InvalidApi.NotFound"), "InvalidApi.NotFound");
    const before = await charged();
    for (const signing of SIGNINGS) {
      await assert.rejects(
        cloudauth(gateway.port, team, signing).call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS)),
        (err: AlibabaSdkError) => {
          assert.equal(err.name, "ClientError");
          assert.equal(err.code, "InvalidApi.NotFound");
          assert.equal(err.statusCode, 404);
          assert.match(String(err.data.Message), /gateway mode/);
          return true;
        },
      );
    }
    assert.equal(await charged(), before, "a refused Cloudauth call was charged");
    assert.equal(before, 0);
  });

  it("while an upstream is set, a test key still answers Cloudauth from the fixtures", async () => {
    const made = await gateway.cli(["keys", "create", "--account", team.accountId, "--test", "--json"]);
    assert.equal(made.code, 0, made.stderr);
    const testKey = JSON.parse(made.stdout) as { secretId: string; secretKey: string };
    const answer = await cloudauth(gateway.port, testKey, "v3").call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS));
    assert.deepEqual({ code: answer.code, bizCode: answer.resultObject?.bizCode }, { code: "200", bizCode: "1" });
    assert.equal(await charged(), 0);
  });

  it("with the upstream cleared, Cloudauth answers from the records again", async () => {
    assert.equal((await gateway.cli(["upstream", "clear"])).code, 0);
    assert.equal(await codeWithin("v2", "200"), "200");
  });
});
