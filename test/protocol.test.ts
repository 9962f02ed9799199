/** The API 3.0 envelope and its common errors, through raw HTTP. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { callTc3, type Key } from "./helpers/call";
import { within } from "./helpers/cli";
import { rawRequest, startTestServer, type TestServer, describeBackends } from "./helpers/server";
import { LIMITS } from "../src/http/handler";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** RequestIds carry their Unix milliseconds in the first 48 bits */
const idTime = (id: string) => Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);

describeBackends("API 3.0 protocol", (backend) => {
  let server: TestServer;
  let key: Key;
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount();
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
  });
  after(() => server.close());

  const errorCode = async (res: Promise<{ json: { Response: { Error?: { Code: string } } } }>) => (await res).json.Response.Error?.Code;

  it("every answer is HTTP 200 with a fresh UUID v4 RequestId in time order, errors included", async () => {
    const sent = Date.now();
    const a = await callTc3(server.port, key, ZHANG);
    const b = await callTc3(server.port, { ...key, secretKey: "not-the-key-0000000000000000000" }, ZHANG);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.match(a.json.Response.RequestId, UUID_V4);
    assert.match(b.json.Response.RequestId, UUID_V4);
    const [ta, tb] = [idTime(a.json.Response.RequestId), idTime(b.json.Response.RequestId)];
    assert.ok(ta >= sent && ta <= tb && tb <= Date.now(), `${sent} ≤ ${ta} ≤ ${tb}`);
    assert.notEqual(a.json.Response.RequestId, b.json.Response.RequestId);
    assert.deepEqual(Object.keys(b.json.Response), ["Error", "RequestId"]);
    assert.equal(b.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
  });

  it("unknown, disabled and malformed keys", async () => {
    assert.equal(
      await errorCode(callTc3(server.port, { secretId: "AKIDnobodyHasThisKey0000000000000000", secretKey: "x".repeat(32) }, ZHANG)),
      "AuthFailure.SecretIdNotFound",
    );
    const other = await server.addAccount("disabled");
    assert.equal((await callTc3(server.port, other, ZHANG)).json.Response.Error?.Code, undefined);
    await server.installation.store.apiKeys.setEnabled(other.secretId, false);
    await within(1000, async () => (await errorCode(callTc3(server.port, other, ZHANG))) === "AuthFailure.SecretIdNotFound");
    const res = await callTc3(server.port, key, ZHANG, {
      extraHeaders: {
        Authorization: `TC3-HMAC-SHA256 Credential=/2025-01-01/faceid/tc3_request, SignedHeaders=content-type;host, Signature=${"0".repeat(64)}`,
      },
    });
    assert.equal(res.json.Response.Error?.Code, "AuthFailure.InvalidSecretId");
    assert.equal(
      await errorCode(callTc3(server.port, key, ZHANG, { extraHeaders: { Authorization: "SKIP" } })),
      "AuthFailure.InvalidAuthorization",
    );
  });

  it("timestamps: 300 s either way is accepted, 301 s is expired, garbage is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    server.setNow(now * 1000);
    try {
      for (const skew of [-300, 300]) {
        assert.equal((await callTc3(server.port, key, ZHANG, { timestamp: now + skew })).json.Response.Result, "0");
      }
      for (const skew of [-301, 301]) {
        assert.equal(await errorCode(callTc3(server.port, key, ZHANG, { timestamp: now + skew })), "AuthFailure.SignatureExpire");
      }
      assert.equal(
        await errorCode(callTc3(server.port, key, ZHANG, { extraHeaders: { "X-TC-Timestamp": "soon" } })),
        "InvalidParameterValue",
      );
    } finally {
      server.setNow(undefined);
    }
  });

  it("bodies: invalid JSON, a non-object, invalid UTF-8, oversize", async () => {
    assert.equal(await errorCode(callTc3(server.port, key, null, { rawBody: "{not json" })), "InvalidParameter");
    assert.equal(await errorCode(callTc3(server.port, key, null, { rawBody: "[1,2]" })), "InvalidParameter");
    const big = JSON.stringify({ ...ZHANG, Pad: "x".repeat(LIMITS.tc3BodyBytes) });
    const res = await callTc3(server.port, key, null, { rawBody: big });
    assert.equal(res.json.Response.Error?.Code, "RequestSizeLimitExceeded");
    assert.match(res.json.Response.RequestId, UUID_V4);
    const form = await rawRequest(server.port, {
      method: "POST",
      target: "/",
      headers: { Host: "127.0.0.1", "Content-Type": "application/x-www-form-urlencoded" },
      body: `a=${"b".repeat(LIMITS.v1BodyBytes)}`,
    });
    assert.equal(form.json.Response.Error?.Code, "RequestSizeLimitExceeded");
    const longGet = await rawRequest(server.port, {
      method: "GET",
      target: `/?Pad=${"x".repeat(LIMITS.getHeaderBytes)}`,
      headers: { Host: "127.0.0.1" },
    });
    assert.equal(longGet.json.Response.Error?.Code, "RequestSizeLimitExceeded");
  });

  it("methods and body styles outside GET/POST JSON/form get a clean envelope error", async () => {
    const put = await rawRequest(server.port, { method: "PUT", target: "/", headers: { Host: "127.0.0.1" }, body: "{}" });
    assert.equal(put.status, 200);
    assert.equal(put.json.Response.Error?.Code, "UnsupportedProtocol");
    for (const contentType of ["multipart/form-data; boundary=x", "application/octet-stream; charset=utf-8", "text/plain"]) {
      const res = await rawRequest(server.port, {
        method: "POST",
        target: "/",
        headers: { Host: "127.0.0.1", "Content-Type": contentType },
        body: "--x--",
      });
      assert.equal(res.json.Response.Error?.Code, "UnsupportedOperation", contentType);
    }
    // unsigned JSON cannot be v1
    const unsigned = await rawRequest(server.port, {
      method: "POST",
      target: "/",
      headers: { Host: "127.0.0.1", "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(unsigned.json.Response.Error?.Code, "AuthFailure.InvalidAuthorization");
    const v1Missing = await rawRequest(server.port, {
      method: "GET",
      target: "/?Action=PhoneVerification",
      headers: { Host: "127.0.0.1" },
    });
    assert.equal(v1Missing.json.Response.Error?.Code, "MissingParameter");
  });

  it("routing: unknown version, action and product", async () => {
    assert.equal(await errorCode(callTc3(server.port, key, ZHANG, { version: "2099-01-01" })), "NoSuchVersion");
    assert.equal(await errorCode(callTc3(server.port, key, ZHANG, { action: "PhoneVerify" })), "InvalidAction");
    assert.equal(
      await errorCode(callTc3(server.port, key, ZHANG, { action: "Nothing", version: "2000-01-01", service: "nothing" })),
      "NoSuchProduct",
    );
    // the scope names a product we serve: routed there even though Host is an IP
    assert.equal((await callTc3(server.port, key, ZHANG, { service: "127" })).json.Response.Result, "0");
  });

  it("X-TC-TraceId is echoed; Language picks the message language and must be valid", async () => {
    const traced = await callTc3(server.port, key, ZHANG, { extraHeaders: { "X-TC-TraceId": "00000000-0000-4000-8000-00000000abcd" } });
    assert.equal(traced.headers["x-tc-traceid"], "00000000-0000-4000-8000-00000000abcd");
    const bad = { ...key, secretKey: "wrong-key-000000000000000000000" };
    const zh = await callTc3(server.port, bad, ZHANG, { language: "zh-CN" });
    assert.equal(zh.json.Response.Error?.Message, "签名错误。");
    const en = await callTc3(server.port, bad, ZHANG, { language: "en-US" });
    assert.equal(en.json.Response.Error?.Message, "The signature does not match the request.");
    assert.equal(
      await errorCode(callTc3(server.port, key, ZHANG, { extraHeaders: { "X-TC-Language": "fr-FR" } })),
      "InvalidParameterValue",
    );
    // the literal strings some SDKs send for unset values are absent, not invalid
    const literal = await callTc3(server.port, key, ZHANG, {
      extraHeaders: { "X-TC-Language": "", "X-TC-Region": "null", "X-TC-Token": "undefined" },
    });
    assert.equal(literal.json.Response.Result, "0");
  });

  it("error messages never echo the values sent", async () => {
    const res = await callTc3(server.port, key, { ...ZHANG, "13912345678": "张三丰" });
    assert.equal(res.json.Response.Error?.Code, "UnknownParameter");
    assert.doesNotMatch(res.text, /13912345678|张三丰/);
  });

  it("paths other than / are not the API", async () => {
    const res = await rawRequest(server.port, { method: "GET", target: "/v1/verify", headers: { Host: "127.0.0.1" } });
    assert.equal(res.status, 404);
  });
});
