/** The official Node SDKs, unchanged but for the endpoint, in every signing mode they offer. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { startTestServer, type TestServer, describeBackends } from "./helpers/server";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tencentcloud = require("tencentcloud-sdk-nodejs");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const intl = require("tencentcloud-sdk-nodejs-intl-en");

interface SdkError {
  code?: string;
  message: string;
  requestId?: string;
  traceId?: string;
}

const PERSON = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

describeBackends("official SDK clients", (backend) => {
  let server: TestServer;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("sdk");
    await server.addRecords([{ phone: PERSON.Phone, name: PERSON.Name, idcard: PERSON.IdCard }]);
  });
  after(() => server.close());

  const faceid = (profile: Record<string, unknown>, httpProfile: Record<string, unknown> = {}, secret = key) =>
    new tencentcloud.faceid.v20180301.Client({
      credential: secret,
      region: "ap-guangzhou",
      profile: { ...profile, httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://", ...httpProfile } },
    });

  const modes: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ["TC3 POST (default)", {}, {}],
    ["TC3 GET", {}, { reqMethod: "GET" }],
    ["v1 HmacSHA256 POST", { signMethod: "HmacSHA256" }, {}],
    ["v1 HmacSHA1 POST", { signMethod: "HmacSHA1" }, {}],
    ["v1 HmacSHA256 GET", { signMethod: "HmacSHA256" }, { reqMethod: "GET" }],
  ];
  for (const [label, profile, httpProfile] of modes) {
    it(`tencentcloud-sdk-nodejs ${label}: Result 0 and -4 with detail`, async () => {
      const client = faceid(profile, httpProfile);
      const ok = await client.PhoneVerification(PERSON);
      assert.equal(ok.Result, "0");
      assert.equal(ok.Description, "Authentication passed");
      assert.equal(ok.Isp, "mobile");
      assert.match(ok.RequestId, /^[0-9a-f-]{36}$/);
      assert.equal(ok.ResultDetail, undefined);
      assert.equal(JSON.parse(server.logs.at(-1)!).signature, label.startsWith("v1") ? "v1" : "TC3");
      const mismatch = await client.PhoneVerification({ ...PERSON, Name: "李四", VerifyMode: "1" });
      assert.equal(mismatch.Result, "-4");
      assert.equal(mismatch.ResultDetail, "PhoneNameMismatch");
    });
  }

  it("zh-CN language profile gives Chinese descriptions and carrier names", async () => {
    const res = await faceid({ language: "zh-CN" }).PhoneVerification(PERSON);
    assert.equal(res.Description, "认证通过");
    assert.equal(res.Isp, "移动");
  });

  it("errors surface as TencentCloudSDKHttpException with code, requestId and traceId", async () => {
    const client = faceid({}, {}, { secretId: key.secretId, secretKey: "wrong-secret-key-000000000000000" });
    await assert.rejects(client.PhoneVerification(PERSON), (err: SdkError) => {
      assert.equal(err.code, "AuthFailure.SignatureFailure");
      assert.match(err.requestId ?? "", /^[0-9a-f-]{36}$/);
      assert.match(err.traceId ?? "", /^[0-9a-f-]{36}$/);
      return true;
    });
  });

  it("tencentcloud-sdk-nodejs-intl-en with its defaults (v1 HmacSHA256 form POST)", async () => {
    const profile = new intl.common.ClientProfile(undefined, new intl.common.HttpProfile("http://", `localhost:${server.port}`));
    const client = new intl.faceid.v20180301.Client(new intl.common.Credential(key.secretId, key.secretKey), "ap-singapore", profile);
    // The intl package has no PhoneVerification method; its generic request() is what every method calls.
    const resp: Record<string, unknown> = {};
    Object.defineProperty(resp, "deserialize", { value: (data: Record<string, unknown>) => Object.assign(resp, data) });
    const result = await new Promise<Record<string, unknown>>((resolve, reject) =>
      client.request("PhoneVerification", PERSON, resp, (err: SdkError | null, data: Record<string, unknown>) =>
        err ? reject(err) : resolve(data),
      ),
    );
    assert.equal(result.Result, "0");
    assert.equal(result.Isp, "mobile");
    const line = JSON.parse(server.logs.at(-1)!);
    assert.equal(line.signature, "v1");
    assert.equal(line.requestId, result.RequestId);
  });
});
