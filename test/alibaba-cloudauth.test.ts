/**
 * Cloudauth's Mobile3Meta* actions through Alibaba's official SDK, unchanged but for the endpoint, in both its
 * signatures (V3 ACS3-HMAC-SHA256 by default, V2 RPC HMAC-SHA1) and through pop-core (GET and POST): every row of
 * their tables, md5 mode, the gateway's errors with the SDK's own exception fields, the ledger, and the same person
 * answered alike over Tencent's protocol.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { acs3CanonicalRequest, acs3Signature, acs3StringToSign, sha256Hex } from "../src/aliyun/signatures";
import { MOBILE_3META_BIZ } from "../src/cloudauth/results";
import { describeBackends, rawRequest, serversOnOneInstallation, startTestServer, type TestServer } from "./helpers/server";
import { type AlibabaAnswer, type AlibabaSdkError, cloudauth, fieldsOf, md5, popCore, recordingProxy, SIGNINGS } from "./helpers/alibaba";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tencentcloud = require("tencentcloud-sdk-nodejs");

/** An identity number with its check character. */
function idNumber(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((n, d, i) => n + Number(d) * (weights[i] ?? 0), 0);
  return first17 + ("10X98765432"[sum % 11] ?? "");
}

const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };
const OTHER_ID = idNumber("11010519851111123");
const BUSY = { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" };
const UNKNOWN_PHONE = "13900005678";
const LI = { phone: "13800005555", name: "李明", idcard: idNumber("33010619800101341") };
const LI_PARAMS = { Mobile: LI.phone, IdentifyNum: LI.idcard, UserName: LI.name };

const ZHANG_PARAMS = { ParamType: "normal", Mobile: ZHANG.phone, IdentifyNum: ZHANG.idcard, UserName: ZHANG.name };

const SIMPLE = ["Mobile3MetaSimpleVerify", "Mobile3MetaSimpleStandardVerify"];
const DETAIL = ["Mobile3MetaDetailVerify", "Mobile3MetaDetailStandardVerify"];

/** [what is sent, Code, BizCode, SubCode (Detail only)] */
const ROWS: Array<[string, Record<string, string>, string, string?, string?]> = [
  ["consistent", ZHANG_PARAMS, "200", "1", "101"],
  ["phone agrees with neither", { ...ZHANG_PARAMS, UserName: "李四", IdentifyNum: OTHER_ID }, "200", "2", "201"],
  ["name agrees, identity number differs", { ...ZHANG_PARAMS, IdentifyNum: OTHER_ID }, "200", "2", "202"],
  ["identity number agrees, name differs", { ...ZHANG_PARAMS, UserName: "李四" }, "200", "2", "203"],
  ["no record", { ...ZHANG_PARAMS, Mobile: UNKNOWN_PHONE }, "200", "3", "301"],
  [
    "md5 consistent",
    { ParamType: "md5", Mobile: md5(ZHANG.phone), IdentifyNum: md5(ZHANG.idcard), UserName: md5(ZHANG.name) },
    "200",
    "1",
    "101",
  ],
  [
    "md5 upper-case hex, inconsistent",
    { ParamType: "md5", Mobile: md5(ZHANG.phone).toUpperCase(), IdentifyNum: md5(ZHANG.idcard), UserName: md5("李四") },
    "200",
    "2",
    "204",
  ],
  [
    "md5 no record",
    { ParamType: "md5", Mobile: md5(UNKNOWN_PHONE), IdentifyNum: md5(ZHANG.idcard), UserName: md5(ZHANG.name) },
    "200",
    "3",
    "301",
  ],
  ["missing field", { ParamType: "normal", Mobile: ZHANG.phone, UserName: ZHANG.name }, "400"],
  ["invalid phone", { ...ZHANG_PARAMS, Mobile: "1380000123" }, "401"],
  ["invalid identity number", { ...ZHANG_PARAMS, IdentifyNum: "110105199003072144" }, "401"],
  ["md5 not a digest", { ParamType: "md5", Mobile: "xyz", IdentifyNum: md5(ZHANG.idcard), UserName: md5(ZHANG.name) }, "401"],
  ["sm2 not served", { ...ZHANG_PARAMS, ParamType: "sm2" }, "401"],
  ["unknown ParamType", { ...ZHANG_PARAMS, ParamType: "sha1" }, "401"],
  ["source busy", { ParamType: "normal", Mobile: BUSY.phone, IdentifyNum: BUSY.idcard, UserName: BUSY.name }, "402"],
];

describeBackends("Cloudauth Mobile3Meta* over Alibaba's protocol", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("alibaba");
    await server.addRecords([ZHANG, BUSY]);
  });
  after(() => server.close());

  const charged = async (accountId: string) =>
    (await server.installation.store.ledger.usage({ accountId })).reduce((n, r) => n + r.charged, 0);

  for (const signing of SIGNINGS) {
    it(`every row of the four actions' tables, normal and md5, signed ${signing}; the ledger has each billed answer once`, async () => {
      const account = await server.addAccount(`rows-${signing}`);
      const client = cloudauth(server.port, account, signing);
      let billed = 0;
      for (const action of [...SIMPLE, ...DETAIL]) {
        const detail = DETAIL.includes(action);
        for (const [label, params, code, biz, sub] of ROWS) {
          const res: AlibabaAnswer = await client.call(action, fieldsOf(params));
          const what = `${action} ${label}`;
          assert.equal(res.code, code, what);
          assert.match(res.requestId, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/, what);
          if (code !== "200") {
            assert.equal(res.resultObject, undefined, what);
            assert.notEqual(res.message, "success", what);
            continue;
          }
          assert.equal(res.message, "success");
          assert.equal(res.resultObject?.bizCode, biz, what);
          assert.equal(res.resultObject?.subCode, detail ? sub : undefined, what);
          // a number with no record has its segment's carrier when sent in plaintext; a digest has none
          if (biz !== "3") assert.equal(res.resultObject?.ispName, "CMCC", what);
          if (biz && MOBILE_3META_BIZ[biz as "1" | "2" | "3"].billed) billed++;
        }
      }
      assert.equal(billed, 4 * 6);
      assert.equal(await charged(account.accountId), billed);
      const usage = await server.installation.store.ledger.usage({ accountId: account.accountId });
      assert.deepEqual(usage.map((r) => r.action).sort(), [...SIMPLE, ...DETAIL].sort());
      const prices = Object.fromEntries(usage.map((r) => [r.action, r.amount / r.charged]));
      assert.deepEqual(prices, {
        Mobile3MetaSimpleVerify: 30,
        Mobile3MetaSimpleStandardVerify: 30,
        Mobile3MetaDetailVerify: 50,
        Mobile3MetaDetailStandardVerify: 50,
      });
    });
  }

  it("pop-core GET and POST (V2 with everything in the query, or in the form body)", async () => {
    const call = popCore(server.port, key);
    for (const method of ["GET", "POST"] as const) {
      const res = await call("Mobile3MetaDetailVerify", ZHANG_PARAMS, method);
      assert.equal(res.Code, "200", method);
      assert.deepEqual({ ...(res.ResultObject as object) }, { BizCode: "1", SubCode: "101", IspName: "CMCC" });
      assert.match(String(res.RequestId), /^[0-9A-F-]{36}$/);
      // pop-core throws on any Code but 200, under its name
      await assert.rejects(call("Mobile3MetaSimpleVerify", { ...ZHANG_PARAMS, Mobile: "1" }, method), { name: "401Error", code: "401" });
    }
  });

  it("the same person over Tencent's protocol and Alibaba's gets corresponding answers (§6.1)", async () => {
    const tencent = new tencentcloud.faceid.v20180301.Client({
      credential: key,
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://" } },
    });
    const alibaba = cloudauth(server.port, key, "v3");
    const cases: Array<[Record<string, string>, string, string | undefined, string, string | undefined]> = [
      [ZHANG_PARAMS, "0", undefined, "200", "101"],
      [{ ...ZHANG_PARAMS, UserName: "李四", IdentifyNum: OTHER_ID }, "-4", "PhoneNameIdCardMismatch", "200", "201"],
      [{ ...ZHANG_PARAMS, IdentifyNum: OTHER_ID }, "-4", "PhoneIdCardMismatch", "200", "202"],
      [{ ...ZHANG_PARAMS, UserName: "李四" }, "-4", "PhoneNameMismatch", "200", "203"],
      [{ ...ZHANG_PARAMS, Mobile: UNKNOWN_PHONE }, "-9", undefined, "200", "301"],
      [{ ...ZHANG_PARAMS, Mobile: "1380000123" }, "-6", undefined, "401", undefined],
      [{ ...ZHANG_PARAMS, UserName: "x" }, "-8", undefined, "401", undefined],
      [{ ParamType: "normal", Mobile: BUSY.phone, IdentifyNum: BUSY.idcard, UserName: BUSY.name }, "-11", undefined, "402", undefined],
    ];
    for (const [p, result, detail, code, sub] of cases) {
      const tc = await tencent.PhoneVerification({ Phone: p.Mobile, Name: p.UserName, IdCard: p.IdentifyNum, VerifyMode: "1" });
      const ali = await alibaba.call("Mobile3MetaDetailVerify", fieldsOf(p));
      assert.equal(tc.Result, result);
      assert.equal(tc.ResultDetail, detail);
      assert.equal(ali.code, code, `${result} ${detail}`);
      assert.equal(ali.resultObject?.subCode, sub);
      if (code === "200") assert.equal(ali.resultObject?.ispName, { mobile: "CMCC", cucc: "CUCC", telecom: "CTCC" }[tc.Isp as string]);
    }
  });

  for (const signing of SIGNINGS) {
    it(`gateway errors in Alibaba's envelope with the SDK's own exception fields (${signing})`, async () => {
      const wrong = cloudauth(server.port, { secretId: key.secretId, secretKey: "wrong-secret-000000000000000000" }, signing);
      await assert.rejects(wrong.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS)), (err: AlibabaSdkError) => {
        assert.equal(err.name, "ClientError");
        assert.equal(err.code, "SignatureDoesNotMatch");
        assert.equal(err.statusCode, 400);
        assert.match(err.requestId, /^[0-9A-F-]{36}$/);
        assert.equal(err.data.Code, "SignatureDoesNotMatch");
        assert.match(String(err.data.Recommend), /SignatureDoesNotMatch/);
        assert.equal(typeof err.data.HostId, "string");
        if (signing === "v2") assert.match(String(err.data.Message), /server string to sign is:POST&%2F&/);
        for (const raw of [ZHANG.phone, ZHANG.idcard, "%E5%BC%A0", ZHANG.name]) assert.ok(!err.message.includes(raw));
        return true;
      });
      const unknown = cloudauth(server.port, { secretId: "LTAI5tFAKEFAKEFAKEFAKE01", secretKey: "x" }, signing);
      await assert.rejects(unknown.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS)), {
        name: "ClientError",
        code: "InvalidAccessKeyId.NotFound",
        statusCode: 404,
      });
      const client = cloudauth(server.port, key, signing);
      try {
        server.setNow(Date.now() + 16 * 60_000);
        await assert.rejects(client.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS)), {
          code: "InvalidTimeStamp.Expired",
          statusCode: 400,
        });
        server.setNow(Date.now() - 14 * 60_000);
        assert.equal((await client.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS))).code, "200");
      } finally {
        server.setNow(undefined);
      }
    });

    it(`a request replayed with its nonce is refused, SignatureNonceUsed (${signing})`, async () => {
      const proxy = await recordingProxy(server.port);
      try {
        const res = await cloudauth(proxy.port, key, signing).call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS));
        assert.equal(res.code, "200");
        const sent = proxy.recorded[0]!;
        const before = await charged(key.accountId);
        const again = await rawRequest(server.port, { method: sent.method, target: sent.target, headers: sent.headers, body: sent.body });
        assert.equal(again.status, 400);
        const body = again.json as unknown as Record<string, unknown>;
        assert.equal(body.Code, "SignatureNonceUsed");
        assert.equal(body.Message, "Specified signature nonce was used already.");
        assert.equal(await charged(key.accountId), before);
      } finally {
        await proxy.close();
      }
    });
  }

  it("50 calls a second per action and account; the 51st is Throttling.User, a ThrottlingError", async () => {
    const account = await server.addAccount("throttled");
    const client = cloudauth(server.port, account, "v3");
    server.setNow(Date.now());
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 51 }, () => client.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS))),
      );
      const answered = results.filter((r) => r.status === "fulfilled");
      const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as AlibabaSdkError] : []));
      assert.equal(answered.length, 50);
      assert.equal(refused.length, 1);
      assert.equal(refused[0]?.name, "ThrottlingError");
      assert.equal(refused[0]?.code, "Throttling.User");
      assert.equal(refused[0]?.statusCode, 400);
      // another action has its own 50
      assert.equal((await client.call("Mobile3MetaDetailVerify", fieldsOf(ZHANG_PARAMS))).code, "200");
      assert.equal(await charged(account.accountId), 51);
    } finally {
      server.setNow(undefined);
    }
  });

  it("an account in arrears answers Code 412, unbilled", async () => {
    const account = await server.addAccount("arrears");
    const balance = (await server.installation.store.accounts.get(account.accountId))?.balance ?? 0;
    await server.installation.store.accounts.topUp(account.accountId, -balance - 1, "test");
    const res = await cloudauth(server.port, account, "v2").call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS));
    assert.equal(res.code, "412");
    assert.equal(res.message, "欠费中");
    assert.equal(await charged(account.accountId), 0);
  });

  it("V3 with the fields in a JSON body, or in the query (older SDKs), answers alike; a field in both is InvalidParameter", async () => {
    const send = (query: Record<string, string>, body: string, contentType?: string) => {
      const headers: Record<string, string> = {
        host: `127.0.0.1:${server.port}`,
        "x-acs-action": "Mobile3MetaDetailVerify",
        "x-acs-version": "2019-03-07",
        "x-acs-date": new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        "x-acs-signature-nonce": randomUUID(),
        "x-acs-content-sha256": sha256Hex(body),
        ...(contentType ? { "content-type": contentType } : {}),
      };
      const signedHeaders = Object.keys(headers).sort();
      const canonical = acs3CanonicalRequest({
        method: "POST",
        query: Object.entries(query),
        signedHeaders,
        header: (n) => headers[n],
        hashedPayload: sha256Hex(body),
      });
      headers.authorization = `ACS3-HMAC-SHA256 Credential=${key.secretId},SignedHeaders=${signedHeaders.join(";")},Signature=${acs3Signature(acs3StringToSign(canonical), key.secretKey)}`;
      const target = Object.keys(query).length > 0 ? `/?${new URLSearchParams(query)}` : "/";
      return rawRequest(server.port, { method: "POST", target, headers, body });
    };
    const json = await send({}, JSON.stringify(ZHANG_PARAMS), "application/json");
    assert.equal(json.status, 200);
    assert.deepEqual((json.json as unknown as Record<string, unknown>).ResultObject, { BizCode: "1", SubCode: "101", IspName: "CMCC" });
    const inQuery = await send(ZHANG_PARAMS, "");
    assert.equal(inQuery.status, 200);
    assert.match(String(inQuery.headers["x-acs-request-id"]), /^[0-9A-F-]{36}$/);
    assert.deepEqual((inQuery.json as unknown as Record<string, unknown>).ResultObject, { BizCode: "1", SubCode: "101", IspName: "CMCC" });
    const both = await send({ Mobile: ZHANG.phone }, new URLSearchParams(ZHANG_PARAMS).toString(), "application/x-www-form-urlencoded");
    assert.equal(both.status, 400);
    assert.equal((both.json as unknown as Record<string, unknown>).Code, "InvalidParameter");
  });

  it("no raw phone, name or identity number in the logs or the store (the last test: it closes the store)", async () => {
    const logs = server.logs.join("\n");
    const stored = (await server.storedData()).toString("latin1");
    for (const raw of [ZHANG.phone, ZHANG.idcard, ZHANG.name, OTHER_ID, UNKNOWN_PHONE, "李四"]) {
      assert.ok(!logs.includes(raw), "raw value in logs");
      assert.ok(!stored.includes(Buffer.from(raw).toString("latin1")), "raw value in the store");
      // the md5 rows' digests are reversible by enumeration: kept only as keyed hashes, logged never
      const digest = md5(raw);
      assert.ok(!logs.toLowerCase().includes(digest), "a digest in logs");
      assert.ok(!stored.toLowerCase().includes(digest), "a digest (hex) in the store");
      assert.ok(!stored.includes(Buffer.from(digest, "hex").toString("latin1")), "a digest (bytes) in the store");
    }
    assert.match(logs, /"action":"Mobile3MetaDetailVerify"/);
    assert.match(logs, /"signature":"RPC"/);
    assert.match(logs, /"signature":"ACS3"/);
  });
});

describeBackends("Cloudauth and FaceID share one daily cap per person", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_DAILY_CAP: "2" }, backend);
    await server.addRecords([ZHANG, LI]);
  });
  after(() => server.close());

  it("two Tencent PhoneVerification calls, then Alibaba's answer is Code 403; another account is not capped", async () => {
    const key = await server.addAccount("capped");
    const tencent = new tencentcloud.faceid.v20180301.Client({
      credential: key,
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://" } },
    });
    for (let i = 0; i < 2; i++)
      assert.equal((await tencent.PhoneVerification({ Phone: ZHANG.phone, Name: ZHANG.name, IdCard: ZHANG.idcard })).Result, "0");
    const res = await cloudauth(server.port, key, "v3").call("Mobile3MetaDetailVerify", fieldsOf(ZHANG_PARAMS));
    assert.equal(res.code, "403");
    assert.equal(res.message, "异常重复调用");
    const other = await server.addAccount("other");
    assert.equal((await cloudauth(server.port, other, "v2").call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS))).code, "200");
  });

  it("md5 calls count too, under the found record's keys: Tencent, normal and md5 Alibaba calls share the person's cap of 2", async () => {
    const key = await server.addAccount("md5-capped");
    const tencent = new tencentcloud.faceid.v20180301.Client({
      credential: key,
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://" } },
    });
    const client = cloudauth(server.port, key, "v3");
    const hashed = (person: { phone: string; name: string; idcard: string }) => ({
      paramType: "md5",
      mobile: md5(person.phone),
      identifyNum: md5(person.idcard),
      userName: md5(person.name),
    });
    // Zhang: one Tencent call and one md5 call take the cap; then normal and md5 Alibaba calls are Code 403, unbilled
    assert.equal((await tencent.PhoneVerification({ Phone: ZHANG.phone, Name: ZHANG.name, IdCard: ZHANG.idcard })).Result, "0");
    assert.equal((await client.call("Mobile3MetaDetailVerify", hashed(ZHANG))).resultObject?.subCode, "101");
    assert.equal((await client.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS))).code, "403");
    const refused = await client.call("Mobile3MetaDetailVerify", hashed(ZHANG));
    assert.deepEqual([refused.code, refused.message, refused.resultObject], ["403", "异常重复调用", undefined]);
    // Li: a digest finding no record names nobody, so it is not counted against his identity number; a normal
    // Alibaba call and a mismatching md5 call count, and PhoneVerification is refused (-12)
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await client.call("Mobile3MetaSimpleVerify", { ...hashed(LI), mobile: md5(UNKNOWN_PHONE) })).resultObject?.bizCode,
        "3",
      );
    assert.equal(
      await client.call("Mobile3MetaSimpleVerify", fieldsOf({ ...ZHANG_PARAMS, ...LI_PARAMS })).then((r) => r.resultObject?.bizCode),
      "1",
    );
    assert.equal(
      (await client.call("Mobile3MetaSimpleStandardVerify", { ...hashed(LI), userName: md5("李四") })).resultObject?.bizCode,
      "2",
    );
    assert.equal((await tencent.PhoneVerification({ Phone: LI.phone, Name: LI.name, IdCard: LI.idcard })).Result, "-12");
    // billed: Tencent 1, md5 101, Li's normal and md5 answers; not the 403s nor the BizCode 3s
    const usage = await server.installation.store.ledger.usage({ accountId: key.accountId });
    assert.equal(
      usage.reduce((n, r) => n + r.charged, 0),
      4,
    );
  });
});

describeBackends("a replayed Alibaba nonce is refused on whichever instance it lands", (backend) => {
  let servers: TestServer[];
  before(async () => {
    servers = await serversOnOneInstallation(backend);
    await servers[0]?.addRecords([ZHANG]);
  });
  after(async () => {
    for (const s of servers) await s.close();
  });

  it("sent to the first instance, replayed to the last: SignatureNonceUsed, not charged twice", async () => {
    const first = servers[0]!;
    const last = servers.at(-1)!;
    const key = await first.addAccount("replayed");
    const proxy = await recordingProxy(first.port);
    try {
      assert.equal((await cloudauth(proxy.port, key, "v2").call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS))).code, "200");
      const sent = proxy.recorded[0]!;
      const again = await rawRequest(last.port, { method: sent.method, target: sent.target, headers: sent.headers, body: sent.body });
      assert.equal(again.status, 400);
      assert.equal((again.json as unknown as Record<string, unknown>).Code, "SignatureNonceUsed");
      const usage = await first.installation.store.ledger.usage({ accountId: key.accountId });
      assert.equal(
        usage.reduce((n, r) => n + r.charged, 0),
        1,
      );
    } finally {
      await proxy.close();
    }
  });
});
