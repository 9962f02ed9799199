/**
 * The test kit over Alibaba's protocol: a scenario by Cloudauth action and outcome code (`200/BizCode[/SubCode]` or a
 * failure Code) answers exactly that through the official SDK, billed as the table says; an API error scenario is
 * answered as Alibaba's protocol answers the same refusal.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { cloudauthScriptable } from "../src/cloudauth/scripted";
import { CLOUDAUTH_ACTIONS } from "../src/cloudauth/tariff";
import { type AlibabaSdkError, cloudauth, md5, popCore } from "./helpers/alibaba";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const TOKEN = "test-operator-token-0123456789";
const FIELDS: Record<string, string> = { paramType: "normal", mobile: "13800001234", identifyNum: "110105199003072143", userName: "张三" };

async function ops(server: TestServer, method: string, route: string, body?: unknown) {
  const res = await fetch(`${server.url}/_sanyao/${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: string } };
}

describeBackends("test kit scenarios over Alibaba's protocol", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
  });
  after(() => server.close());

  const charged = async (accountId: string) =>
    (await server.installation.store.ledger.usage({ accountId })).reduce((n, r) => n + r.charged, 0);

  it("every outcome of every Cloudauth action's table, by scenario, through the SDK (or pop-core for Mobile2MetaVerify)", async () => {
    const key = await server.addAccount("scripted");
    const sdk = cloudauth(server.port, key, "v3");
    const pop = popCore(server.port, key);
    let billed = 0;
    for (const action of CLOUDAUTH_ACTIONS) {
      const labels = [...(cloudauthScriptable(action) ?? [])];
      assert.ok(labels.length >= 11, action);
      for (const label of labels) {
        const added = await ops(server, "POST", "scenarios", { account: key.accountId, action, result: label });
        assert.equal(added.status, 201, added.body.error);
        const [code, biz, third] = label.split("/");
        let got: { code: string; resultObject?: Record<string, unknown> };
        if (action === "Mobile2MetaVerify") {
          const res: Record<string, unknown> = await pop(
            action,
            { ParamType: "normal", Mobile: FIELDS.mobile ?? "", UserName: FIELDS.userName ?? "" },
            "POST",
          ).catch((err: { code: string }) => ({ Code: err.code }));
          got = { code: String(res.Code), resultObject: res.ResultObject as Record<string, unknown> | undefined };
          if (got.resultObject) got.resultObject = { bizCode: got.resultObject.BizCode };
        } else {
          const res = await sdk.call(action, FIELDS);
          got = { code: res.code, resultObject: res.resultObject as Record<string, unknown> | undefined };
        }
        assert.equal(got.code, code, `${action} ${label}`);
        if (code === "200") {
          assert.equal(got.resultObject?.bizCode, biz, `${action} ${label}`);
          if (third !== undefined) assert.equal(got.resultObject?.subCode ?? got.resultObject?.timeCode, third, `${action} ${label}`);
          if (biz !== "3") billed++;
        } else assert.equal(got.resultObject, undefined);
        await ops(server, "DELETE", "scenarios");
      }
    }
    assert.equal(await charged(key.accountId), billed);
  });

  it("an unknown outcome is refused when the scenario is made, naming the action's table", async () => {
    const key = await server.addAccount("refused-scenario");
    const res = await ops(server, "POST", "scenarios", { account: key.accountId, action: "Mobile3MetaSimpleVerify", result: "200/1/101" });
    assert.equal(res.status, 400);
    assert.match(String(res.body.error), /Mobile3MetaSimpleVerify has no Result 200\/1\/101 \(its table: 200\/1, 200\/2, 200\/3, 400/);
  });

  it("API error scenarios answer as Alibaba answers the same refusal", async () => {
    const key = await server.addAccount("errors");
    const sdk = cloudauth(server.port, key, "v2");
    await ops(server, "POST", "scenarios", { account: key.accountId, action: "Mobile3MetaDetailVerify", error: "RequestLimitExceeded" });
    await assert.rejects(sdk.call("Mobile3MetaDetailVerify", FIELDS), (err: AlibabaSdkError) => {
      assert.equal(err.name, "ThrottlingError");
      assert.equal(err.code, "Throttling.User");
      return true;
    });
    await ops(server, "DELETE", "scenarios");
    await ops(server, "POST", "scenarios", { account: key.accountId, action: "Id2MetaVerify", error: "UnauthorizedOperation.Arrears" });
    assert.equal((await sdk.call("Id2MetaVerify", FIELDS)).code, "412");
    await ops(server, "DELETE", "scenarios");
    await ops(server, "POST", "scenarios", { account: key.accountId, action: "MobileOnlineTime", error: "InternalError" });
    await assert.rejects(sdk.call("MobileOnlineTime", FIELDS), { name: "ServerError", code: "InternalError", statusCode: 500 });
    await ops(server, "DELETE", "scenarios");
    assert.equal(await charged(key.accountId), 0);
  });

  it("a test key answers from the fixtures (the demo records) into the test ledger, over both signatures and in md5", async () => {
    const live = await server.addAccount("team");
    const made = await server.cli(["keys", "create", "--account", live.accountId, "--test", "--json"]);
    assert.equal(made.code, 0, made.stderr);
    const testKey = JSON.parse(made.stdout) as { secretId: string; secretKey: string };
    const v3 = cloudauth(server.port, testKey, "v3");
    const detail = await v3.call("Mobile3MetaDetailVerify", FIELDS);
    assert.deepEqual({ code: detail.code, ...detail.resultObject }, { code: "200", bizCode: "1", subCode: "101", ispName: "CMCC" });
    const hashed = await cloudauth(server.port, testKey, "v2").call("Mobile3MetaSimpleVerify", {
      paramType: "md5",
      mobile: md5(FIELDS.mobile ?? ""),
      identifyNum: md5(FIELDS.identifyNum ?? ""),
      userName: md5(FIELDS.userName ?? ""),
    });
    assert.equal(hashed.resultObject?.bizCode, "1");
    assert.equal((await v3.call("MobileOnlineStatus", { paramType: "normal", mobile: "13700002222" })).resultObject?.subCode, "203");
    const twoMeta = await popCore(server.port, testKey)(
      "Mobile2MetaVerify",
      { ParamType: "md5", Mobile: md5(FIELDS.mobile ?? ""), UserName: md5(FIELDS.userName ?? "") },
      "GET",
    );
    assert.deepEqual({ ...(twoMeta.ResultObject as object) }, { BizCode: "1", IspName: "CMCC" });
    // the live ledger is untouched; the test ledger has the four
    assert.equal(await charged(live.accountId), 0);
    const test = (await server.installation.store.ledger.usage({ accountId: live.accountId, test: true })).reduce(
      (n, r) => n + r.charged,
      0,
    );
    assert.equal(test, 4);
  });
});
