/**
 * Inputs are bounded before they are transformed (issue 19 item 8): a field of up to 10 MiB meets its length bound
 * before NFKC (U+FDFA grows 18-fold under it), base64 decoding or trimming, and answers what the spec says for a
 * value too long; and names of Object.prototype's members (`constructor`, `__proto__`, …) in any enum-like
 * parameter of any action are values like any other unknown one, never a lookup into a plain object.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { signTc3, signV1 } from "../src/client/signer";
import { callTc3, type Key } from "./helpers/call";
import { rawRequest, startTestServer, tempDir, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const MiB = 1024 * 1024;
/** U+FDFA (ﷺ) is 3 bytes of UTF-8 and 18 characters after NFKC. */
const FDFA = "\uFDFA";

describe("inputs bounded before they are normalised", () => {
  let server: TestServer;
  let key: Key & { accountId: string };
  before(async () => {
    server = await startTestServer({ SANYAO_LOG_LEVEL: "warn" });
    key = await server.addAccount("bounds");
    await server.installation.store.accounts.update(key.accountId, { kmsAuthorized: true });
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
  });
  after(() => server.close());

  /** `field` filled with U+FDFA up to a body just under the 10 MiB TC3 cap. */
  const huge = (params: Record<string, unknown>, field: string) => {
    const rest = Buffer.byteLength(JSON.stringify({ ...params, [field]: "" }));
    return { ...params, [field]: FDFA.repeat(Math.floor((10 * MiB - rest) / 3)) };
  };

  const CASES: ReadonlyArray<{ action: string; params: Record<string, unknown>; field: string; expect: string }> = [
    { action: "PhoneVerification", params: ZHANG, field: "Name", expect: "Result -8" },
    { action: "PhoneVerification", params: ZHANG, field: "Phone", expect: "Result -6" },
    { action: "PhoneVerification", params: ZHANG, field: "IdCard", expect: "Result -7" },
    { action: "PhoneVerificationCMCC", params: ZHANG, field: "Name", expect: "Result -8" },
    { action: "CheckPhoneAndName", params: { Mobile: ZHANG.Phone, Name: ZHANG.Name }, field: "Name", expect: "Result -4" },
    { action: "CheckPhoneAndName", params: { Mobile: ZHANG.Phone, Name: ZHANG.Name }, field: "Mobile", expect: "Result -5" },
    { action: "IdCardVerification", params: { IdCard: ZHANG.IdCard, Name: ZHANG.Name }, field: "Name", expect: "Result -3" },
    { action: "IdCardVerification", params: { IdCard: ZHANG.IdCard, Name: ZHANG.Name }, field: "IdCard", expect: "Result -2" },
    { action: "MobileStatus", params: { Mobile: ZHANG.Phone }, field: "Mobile", expect: "Result -2" },
    { action: "MobileNetworkTimeVerification", params: { Mobile: ZHANG.Phone }, field: "Mobile", expect: "Result -1" },
    { action: "EncryptedPhoneVerification", params: { ...ZHANG, EncryptionMode: "0" }, field: "Name", expect: "Result -8" },
    { action: "EncryptedPhoneVerification", params: { ...ZHANG, EncryptionMode: "2" }, field: "IdCard", expect: "Result -8" },
    {
      action: "PhoneVerification",
      params: { ...ZHANG, CiphertextBlob: "eA==", EncryptList: ["Name"], Iv: "abcdef0123456789" },
      field: "Iv",
      expect: "InvalidParameterValue",
    },
    {
      action: "PhoneVerificationCMCC",
      params: { ...ZHANG, Encryption: { EncryptList: ["Phone"], CiphertextBlob: "eA==", Iv: "abcdef0123456789" } },
      field: "Phone",
      expect: "FailedOperation.DecryptSystemError",
    },
  ];

  for (const c of CASES) {
    it(`a 10 MiB ${c.field} of U+FDFA in ${c.action}${c.params.EncryptionMode ? ` (mode ${c.params.EncryptionMode})` : ""} answers ${c.expect} (its CPU time printed, not asserted: speed lives in the benchmark)`, async (t) => {
      const params = huge(c.params, c.field);
      const cpu = process.cpuUsage();
      const started = process.hrtime.bigint();
      const res = await callTc3(server.port, key, params, { action: c.action });
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      t.diagnostic(`answered in ${wallMs.toFixed(0)} ms (${cpuMs.toFixed(0)} ms of CPU, client and server)`);
      const r = res.json.Response;
      assert.equal(r.Error?.Code ?? `Result ${String(r.Result)}`, c.expect);
    });
  }

  it("the bounds cannot refuse a legitimate value: full-width, spaced and prefixed forms still answer 0", async () => {
    const forms = [
      { Phone: "+86 138-0000-1234", Name: " 张三 ", IdCard: "１１０１０５１９９００３０７２１４３" },
      { Phone: "0086 138 0000 1234", Name: "张\uFE00三", IdCard: ` ${ZHANG.IdCard} ` },
    ];
    for (const form of forms) {
      const r = (await callTc3(server.port, key, form)).json.Response;
      assert.equal(r.Result, "0", JSON.stringify(form));
    }
  });

  it("a name padded past its bound is too long (-8), though trimming would have shortened it", async () => {
    const r = (await callTc3(server.port, key, { ...ZHANG, Name: `张三${" ".repeat(MiB)}` })).json.Response;
    assert.equal(r.Result, "-8");
  });

  it("KMS: a too-long Plaintext, CiphertextBlob, Description or EncryptionContext answers its code", async () => {
    const kms = async (action: string, params: Record<string, unknown>) => {
      const r = (
        await callTc3(server.port, key, params, {
          action,
          service: "kms",
          version: "2019-01-18",
          extraHeaders: { "X-TC-Region": "ap-guangzhou" },
        })
      ).json.Response;
      return r.Error?.Code ?? "(succeeded)";
    };
    const { KeyId } = (
      await callTc3(
        server.port,
        key,
        { Alias: "bounds" },
        { action: "CreateKey", service: "kms", version: "2019-01-18", extraHeaders: { "X-TC-Region": "ap-guangzhou" } },
      )
    ).json.Response;
    const long = "A".repeat(8 * MiB);
    assert.equal(await kms("Encrypt", { KeyId, Plaintext: long }), "InvalidParameterValue.InvalidPlaintext");
    assert.equal(await kms("Decrypt", { CiphertextBlob: long }), "InvalidParameterValue.InvalidCiphertext");
    assert.equal(await kms("CreateKey", { Alias: "bounds-2", Description: FDFA.repeat(3 * MiB) }), "InvalidParameterValue");
    assert.equal(await kms("GenerateDataKey", { KeyId, KeySpec: "AES_256", EncryptionContext: long }), "InvalidParameterValue");
  });
});

/** Names every plain object answers to: never a value of an enum. */
const INHERITED = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"];

describe("enum-like parameters never reach a plain object's inherited members", () => {
  let server: TestServer;
  let key: Key & { accountId: string };
  let keyId = "";
  let blob = "";
  before(async () => {
    server = await startTestServer({ SANYAO_LOG_LEVEL: "warn" });
    key = await server.addAccount("enums");
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
    const kms = (action: string, params: Record<string, unknown>) =>
      callTc3(server.port, key, params, { action, service: "kms", version: "2019-01-18", extraHeaders: { "X-TC-Region": "ap-guangzhou" } });
    keyId = String((await kms("CreateKey", { Alias: "enums" })).json.Response.KeyId);
    blob = String((await kms("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256" })).json.Response.CiphertextBlob);
  });
  after(() => server.close());

  interface Case {
    parameter: string;
    /** the call with `name` in the parameter: action, params, and any header */
    call: (name: string) => { service?: "kms"; action: string; params: Record<string, unknown>; headers?: Record<string, string> };
    expect: string;
  }
  const kmsCall = (action: string, params: Record<string, unknown>, region = "ap-guangzhou") => ({
    service: "kms" as const,
    action,
    params,
    headers: { "X-TC-Region": region },
  });
  const envelope = (over: Record<string, unknown>) => ({
    EncryptList: ["Phone"],
    CiphertextBlob: "eA==",
    Iv: "abcdef0123456789",
    Algorithm: "AES-256-CBC",
    ...over,
  });
  const CASES: Case[] = [
    {
      parameter: "PhoneVerification VerifyMode",
      call: (n) => ({ action: "PhoneVerification", params: { ...ZHANG, VerifyMode: n } }),
      expect: "InvalidParameterValue",
    },
    {
      parameter: "EncryptedPhoneVerification EncryptionMode",
      call: (n) => ({ action: "EncryptedPhoneVerification", params: { ...ZHANG, EncryptionMode: n } }),
      expect: "InvalidParameterValue",
    },
    {
      parameter: "Encryption.Algorithm",
      call: (n) => ({ action: "PhoneVerificationCMCC", params: { ...ZHANG, Encryption: envelope({ Algorithm: n }) } }),
      expect: "InvalidParameterValue",
    },
    {
      parameter: "Encryption.Algorithm with nothing encrypted",
      call: (n) => ({ action: "MobileStatus", params: { Mobile: ZHANG.Phone, Encryption: envelope({ Algorithm: n, EncryptList: [] }) } }),
      expect: "InvalidParameterValue",
    },
    {
      // faceid-family.md §7.7 gives this parameter its own code
      parameter: "Encryption.EncryptList",
      call: (n) => ({
        action: "CheckPhoneAndName",
        params: { Mobile: ZHANG.Phone, Name: ZHANG.Name, Encryption: envelope({ EncryptList: [n] }) },
      }),
      expect: "InvalidParameter.UnsupportEncryptField",
    },
    {
      parameter: "PhoneVerification EncryptList",
      call: (n) => ({
        action: "PhoneVerification",
        params: { ...ZHANG, CiphertextBlob: "eA==", EncryptList: [n], Iv: "abcdef0123456789" },
      }),
      expect: "InvalidParameter.UnsupportEncryptField",
    },
    {
      parameter: "X-TC-Language",
      call: (n) => ({ action: "IdCardVerification", params: { IdCard: ZHANG.IdCard, Name: ZHANG.Name }, headers: { "X-TC-Language": n } }),
      expect: "InvalidParameterValue",
    },
    { parameter: "KMS KeySpec", call: (n) => kmsCall("GenerateDataKey", { KeyId: keyId, KeySpec: n }), expect: "InvalidParameterValue" },
    {
      parameter: "KMS KeyUsage",
      call: (n) => kmsCall("CreateKey", { Alias: "usage", KeyUsage: n }),
      expect: "InvalidParameterValue.InvalidKeyUsage",
    },
    {
      parameter: "KMS GenerateDataKey EncryptionAlgorithm",
      call: (n) => kmsCall("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256", EncryptionAlgorithm: n }),
      expect: "InvalidParameterValue",
    },
    {
      parameter: "KMS Decrypt EncryptionAlgorithm",
      call: (n) => kmsCall("Decrypt", { CiphertextBlob: blob, EncryptionAlgorithm: n }),
      expect: "InvalidParameterValue",
    },
    {
      parameter: "KMS EncryptionContext keys (GenerateDataKey)",
      call: (n) => kmsCall("GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256", EncryptionContext: `{"${n}":"x"}` }),
      expect: "InvalidParameterValue",
    },
    {
      parameter: "KMS EncryptionContext keys (Encrypt)",
      call: (n) => kmsCall("Encrypt", { KeyId: keyId, Plaintext: "AAAA", EncryptionContext: `{"purpose":"test","${n}":"x"}` }),
      expect: "InvalidParameterValue",
    },
    {
      parameter: "KMS EncryptionContext keys (Decrypt)",
      call: (n) => kmsCall("Decrypt", { CiphertextBlob: blob, EncryptionContext: `{"${n}":"x"}` }),
      expect: "InvalidParameterValue",
    },
    {
      parameter: "KMS EncryptionContext (the name itself)",
      call: (n) => kmsCall("Encrypt", { KeyId: keyId, Plaintext: "AAAA", EncryptionContext: n }),
      expect: "InvalidParameterValue",
    },
    { parameter: "KMS X-TC-Region", call: (n) => kmsCall("ListKeys", {}, n), expect: "InvalidParameterValue" },
  ];

  for (const c of CASES) {
    it(`${c.parameter}: ${INHERITED.join(", ")} answer ${c.expect}`, async () => {
      for (const name of INHERITED) {
        const { service, action, params, headers } = c.call(name);
        const res = await callTc3(server.port, key, params, {
          action,
          ...(service === "kms" && { service, version: "2019-01-18" }),
          extraHeaders: headers,
        });
        assert.equal(res.json.Response.Error?.Code ?? "(answered)", c.expect, `${c.parameter} = ${name}`);
      }
    });
  }

  it("TC3 SignedHeaders naming them: the signature fails, as for any header the request lacks", async () => {
    const host = `127.0.0.1:${server.port}`;
    for (const name of INHERITED) {
      const body = JSON.stringify({ Mobile: ZHANG.Phone });
      const headers = signTc3({
        ...key,
        service: "faceid",
        host,
        action: "MobileStatus",
        version: "2018-03-01",
        timestamp: Math.floor(Date.now() / 1000),
        body,
      });
      const authorization = (headers.Authorization ?? "").replace(
        "SignedHeaders=content-type;host",
        `SignedHeaders=content-type;host;${name.toLowerCase()}`,
      );
      const res = await rawRequest(server.port, {
        method: "POST",
        target: "/",
        headers: { ...headers, Authorization: authorization },
        body,
      });
      assert.equal(res.status, 200, name);
      assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure", name);
    }
  });

  it("flattened parameter names naming them (GET and v1): UnknownParameter, never a member of the schema", async () => {
    const host = `127.0.0.1:${server.port}`;
    for (const name of INHERITED) {
      for (const extra of [
        [name, "1"],
        [`${name}.Mobile`, ZHANG.Phone],
        [`Encryption.${name}`, "1"],
        [`Encryption.${name}.0`, "1"],
      ] as const) {
        const form = signV1({
          secretId: key.secretId,
          secretKey: key.secretKey,
          host,
          action: "MobileStatus",
          version: "2018-03-01",
          timestamp: Math.floor(Date.now() / 1000),
          nonce: 1 + Math.floor(Math.random() * 1e9),
          algorithm: "HmacSHA256",
          params: new Map([["Mobile", ZHANG.Phone], extra]),
        });
        const res = await rawRequest(server.port, {
          method: "POST",
          target: "/",
          headers: { Host: host, "Content-Type": "application/x-www-form-urlencoded" },
          body: form.toString(),
        });
        assert.equal(res.json.Response.Error?.Code, "UnknownParameter", extra[0]);
      }
    }
  });

  it("records import: an isp column reading one of them is no carrier, and the row is rejected", async () => {
    const file = path.join(tempDir(), "isp.csv");
    const rows = INHERITED.map((name, i) => `1380000${String(5000 + i)},张三,110105199003072143,${name}`);
    fs.writeFileSync(file, `phone,name,idcard,isp\n${rows.join("\n")}\n`);
    const imported = await server.cli(["records", "import", file, "--json"]);
    assert.equal(imported.code, 3, imported.stderr); // every row rejected
    const summary = JSON.parse(imported.stdout) as { imported: number; rejections: Array<{ line: number; reason: string }> };
    assert.equal(summary.imported, 0);
    assert.equal(summary.rejections.length, INHERITED.length);
    for (const r of summary.rejections) assert.match(r.reason, /^isp must be/);
  });

  it("v1 Language and Region: the same names answer InvalidParameterValue", async () => {
    const host = `127.0.0.1:${server.port}`;
    for (const name of INHERITED) {
      for (const [action, version, params] of [
        [
          "MobileStatus",
          "2018-03-01",
          [
            ["Mobile", ZHANG.Phone],
            ["Language", name],
          ],
        ],
        ["ListKeys", "2019-01-18", [["Region", name]]],
      ] as const) {
        const form = signV1({
          secretId: key.secretId,
          secretKey: key.secretKey,
          host,
          action,
          version,
          timestamp: Math.floor(Date.now() / 1000),
          nonce: 1 + Math.floor(Math.random() * 1e9),
          algorithm: "HmacSHA256",
          params: new Map(params.map(([k, v]) => [k, v])),
        });
        const res = await rawRequest(server.port, {
          method: "POST",
          target: "/",
          headers: { Host: host, "Content-Type": "application/x-www-form-urlencoded" },
          body: form.toString(),
        });
        assert.equal(res.json.Response.Error?.Code, "InvalidParameterValue", `${action} ${JSON.stringify(params)}`);
      }
    }
  });
});
