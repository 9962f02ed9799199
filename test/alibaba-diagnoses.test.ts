/**
 * Signature diagnoses of refused Alibaba calls (GET /_sanyao/explain/ID): the official SDK's usual mistakes, in V3
 * and V2, named with no value of the request kept.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { SignatureDiagnosis } from "../src/api3/diagnose";
import { type AlibabaSdkError, cloudauth } from "./helpers/alibaba";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const TOKEN = "test-operator-token-0123456789";
const FIELDS = { paramType: "normal", mobile: "13800001234", identifyNum: "110105199003072143", userName: "张三" };
const RAW = [FIELDS.mobile, FIELDS.identifyNum, FIELDS.userName, "%E5%BC%A0"];

describeBackends("signature diagnoses of Alibaba calls", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    key = await server.addAccount("explain-alibaba");
  });
  after(() => server.close());

  const refusedId = async (call: Promise<unknown>): Promise<string> => {
    try {
      await call;
    } catch (err) {
      return (err as AlibabaSdkError).requestId;
    }
    assert.fail("the call succeeded");
  };
  const explain = async (requestId: string): Promise<SignatureDiagnosis> => {
    const res = await fetch(`${server.url}/_sanyao/explain/${requestId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const d = ((await res.json()) as { diagnosis: SignatureDiagnosis }).diagnosis;
    const text = JSON.stringify(d);
    for (const raw of RAW) assert.ok(!text.includes(raw), "a raw value in a diagnosis");
    return d;
  };

  it("V3 signed with the secret followed by & (V2's key) is named; the canonical request is shown masked", async () => {
    const id = await refusedId(
      cloudauth(server.port, { secretId: key.secretId, secretKey: `${key.secretKey}&` }, "v3").call("Mobile3MetaSimpleVerify", FIELDS),
    );
    const d = await explain(id);
    assert.equal(d.code, "SignatureDoesNotMatch");
    assert.equal(d.signatureMethod, "ACS3-HMAC-SHA256");
    assert.equal(d.secretId, key.secretId);
    assert.ok(d.signedHeaders?.includes("x-acs-content-sha256"));
    assert.match(
      d.canonicalRequest ?? "",
      /^POST\n\/\n\ncontent-type:application\/x-www-form-urlencoded\nhost:127\.0\.0\.1:\d+\nx-acs-action:Mobile3MetaSimpleVerify\n/,
    );
    assert.match(d.likelyCauses[0] ?? "", /followed by `&`/);
  });

  it("V2 with a wrong secret: the string to sign with values masked, and the general cause", async () => {
    const id = await refusedId(
      cloudauth(server.port, { secretId: key.secretId, secretKey: "not-the-secret-000000000000000" }, "v2").call(
        "Mobile3MetaDetailVerify",
        FIELDS,
      ),
    );
    const d = await explain(id);
    assert.equal(d.signatureMethod, "HMAC-SHA1");
    assert.match(d.stringToSign ?? "", /^POST&%2F&AccessKeyId%3D/);
    assert.match(d.stringToSign ?? "", /Mobile%3D%253C[0-9a-f]{16}%253E/);
    assert.match(d.likelyCauses[0] ?? "", /AccessKeySecret differs/);
  });

  it("a clock 20 minutes off, and an unknown AccessKeyId, are named", async () => {
    try {
      server.setNow(Date.now() + 20 * 60_000);
      const id = await refusedId(cloudauth(server.port, key, "v3").call("Mobile3MetaSimpleVerify", FIELDS));
      const d = await explain(id);
      assert.equal(d.code, "InvalidTimeStamp.Expired");
      assert.ok((d.clock.offsetSeconds ?? 0) < -1100);
      assert.match(d.likelyCauses[0] ?? "", /behind the server's clock/);
    } finally {
      server.setNow(undefined);
    }
    const id = await refusedId(
      cloudauth(server.port, { secretId: "LTAI5tNOSUCHKEY00000000", secretKey: "x" }, "v2").call("Id2MetaVerify", FIELDS),
    );
    assert.match((await explain(id)).likelyCauses[0] ?? "", /not an enabled key/);
  });
});
