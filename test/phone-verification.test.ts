/** PhoneVerification behaviour through HTTP: every result code, ResultDetail, Isp, parameters. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { callTc3, verify, type Key } from "./helpers/call";
import { startTestServer, type TestServer, describeBackends } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

describeBackends("PhoneVerification", (backend) => {
  let server: TestServer;
  let key: Key;
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount();
    await server.addRecords([
      { phone: "13800001234", name: "张三", idcard: "110105199003072143" },
      { phone: "15800004444", name: "钱七", idcard: "510104199208152233" },
      { phone: "13300003333", name: "赵六", idcard: "330106198001013417" },
      { phone: "18600002468", name: "Wei Xiaobao", idcard: "440305200002295620" },
      { phone: "13800005555", name: "孙八", idcard: "310115197511201125", isp: "telecom" },
      { phone: "13600007777", name: "周九", idcard: "420102198506124573", status: "suspended" },
      { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" },
    ]);
  });
  after(() => server.close());

  const call = (params: Record<string, unknown>, language?: "zh-CN" | "en-US") => verify(server.port, key, params, { language });

  it("0: all three belong together; charged", async () => {
    const res = await callTc3(server.port, key, ZHANG);
    assert.deepEqual(Object.keys(res.json.Response), ["Result", "Description", "Isp", "RequestId"]);
    assert.equal(res.json.Response.Result, "0");
    assert.equal(res.json.Response.Description, "Authentication passed");
    assert.equal(res.headers["x-sanyao-billable"], "1");
    assert.equal(res.headers["content-type"], "application/json");
  });

  it("0 also for the same person typed differently (+86, full-width digits, lower-case x, spaces)", async () => {
    await server.addRecords([{ phone: "13900005678", name: "李四", idcard: "32010219881115306X" }]);
    for (const params of [
      { Phone: "+86 139 0000 5678", Name: "李 四", IdCard: "32010219881115306x" },
      { Phone: "１３９００００５６７８", Name: "李四", IdCard: "３２０１０２１９８８１１１５３０６Ｘ" },
      { Phone: "0086-139-0000-5678", Name: " 李四 ", IdCard: " 32010219881115306X " },
    ]) {
      assert.equal((await call(params)).Result, "0", JSON.stringify(params));
    }
    assert.equal((await call({ Phone: "18600002468", Name: "WEI  XIAOBAO", IdCard: "440305200002295620" })).Result, "0");
  });

  it("-4 with each ResultDetail in detailed mode; none in simple mode or on 0", async () => {
    const detailed = async (p: Record<string, string>) => {
      const res = await call({ ...p, VerifyMode: "1" });
      assert.equal(res.Result, "-4");
      return res.ResultDetail;
    };
    assert.equal(await detailed({ ...ZHANG, IdCard: "330106198001013417" }), "PhoneIdCardMismatch");
    assert.equal(await detailed({ ...ZHANG, Name: "李四" }), "PhoneNameMismatch");
    assert.equal(await detailed({ ...ZHANG, Name: "李四", IdCard: "420102198506124573" }), "PhoneNameIdCardMismatch");
    // 13300003333 is 赵六's; 钱七's identity number with a third name belongs to neither
    assert.equal(await detailed({ Phone: "13300003333", Name: "孙八", IdCard: "510104199208152233" }), "NameIdCardMismatch");
    assert.equal(await detailed({ Phone: "13600007777", Name: "周九", IdCard: "420102198506124573" }), "OtherMismatch");

    const simple = await call({ ...ZHANG, Name: "李四" });
    assert.equal(simple.Result, "-4");
    assert.equal("ResultDetail" in simple, false);
    const ok = await call({ ...ZHANG, VerifyMode: "1" });
    assert.equal(ok.Result, "0");
    assert.equal("ResultDetail" in ok, false);
  });

  it("-6, -7, -8, -13 from the pre-check; -9 for a number not on record; none charged", async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ ...ZHANG, Phone: "1380000123" }, "-6", "Invalid phone number"],
      [{ ...ZHANG, IdCard: "110105199003072140" }, "-7", "Identity number error"],
      [{ ...ZHANG, Name: "张3" }, "-8", "Name verification failed"],
      [{ ...ZHANG, Phone: "17000001234" }, "-13", "The number range is unsupported for verification."],
      [{ ...ZHANG, Phone: "13900009999" }, "-9", "No records"],
    ];
    for (const [params, result, description] of cases) {
      const res = await callTc3(server.port, key, params);
      assert.equal(res.json.Response.Result, result);
      assert.equal(res.json.Response.Description, description);
      assert.equal(res.headers["x-sanyao-billable"], "0");
    }
  });

  it("-11 when the source fails, uncharged and without detail of the failure", async () => {
    const res = await callTc3(server.port, key, { Phone: "13500009999", Name: "吴十", IdCard: "110108199502030043" });
    assert.equal(res.json.Response.Result, "-11");
    assert.equal(res.json.Response.Description, "The Verification Center Service is busy");
    assert.equal(res.headers["x-sanyao-billable"], "0");
  });

  it("Isp: the record's carrier wins over the segment (number portability); languages", async () => {
    assert.equal((await call({ Phone: "13800005555", Name: "孙八", IdCard: "310115197511201125" })).Isp, "telecom");
    const zh = await call({ Phone: "13800005555", Name: "孙八", IdCard: "310115197511201125" }, "zh-CN");
    assert.equal(zh.Isp, "电信");
    assert.equal(zh.Description, "认证通过");
    assert.equal((await call({ ...ZHANG, Phone: "1380000123" })).Isp, "");
    assert.equal((await call({ ...ZHANG, Phone: "19200001234" })).Isp, "broadnet");
    assert.equal((await call({ ...ZHANG, Phone: "13300001234" })).Isp, "telecom");
    assert.equal((await call({ ...ZHANG, Phone: "13000001234" })).Isp, "cucc");
  });

  it("parameters: missing, wrong type, unknown, bad value", async () => {
    const code = async (params: unknown) => (await call(params as Record<string, unknown>)).Error?.Code;
    assert.equal(await code({ Name: "张三", IdCard: ZHANG.IdCard }), "MissingParameter");
    assert.equal(await code({ ...ZHANG, Phone: 13800001234 }), "InvalidParameter");
    assert.equal(await code({ ...ZHANG, EncryptList: "IdCard" }), "InvalidParameter");
    assert.equal(await code({ ...ZHANG, Extra: "x" }), "UnknownParameter");
    assert.equal(await code({ ...ZHANG, VerifyMode: "7" }), "InvalidParameterValue");
    assert.equal(await code({ ...ZHANG, VerifyMode: 1 }), "InvalidParameter");
    // null is what the SDK strips: absent, so a null optional is fine and a null required one is missing
    assert.equal((await call({ ...ZHANG, VerifyMode: null })).Result, "0");
    assert.equal(await code({ ...ZHANG, Name: null }), "MissingParameter");
  });

  it("a KMS blob needs the account's KMS authorisation, a public-key blob does not; an empty EncryptList is plaintext", async () => {
    // shaped like one of our KMS blobs (kms/blob.ts): magic, key id, nonce, body, tag
    const kmsShaped = Buffer.concat([Buffer.from("TKB1"), Buffer.from([3]), Buffer.from("abc"), Buffer.alloc(44)]).toString("base64");
    const res = await call({ ...ZHANG, CiphertextBlob: kmsShaped, EncryptList: ["Phone"], Iv: "abcdef0123456789" });
    assert.equal(res.Error?.Code, "FailedOperation.StsUnAuthErrError");
    // anything else is taken for an RSA-wrapped key (faceid-family.md §7.17): this one unwraps to nothing useful
    const other = await call({ ...ZHANG, CiphertextBlob: "eA==", EncryptList: ["Phone"], Iv: "abcdef0123456789" });
    assert.equal(other.Error?.Code, "FailedOperation.DecryptSystemError");
    // an empty list is a plaintext request (kms-envelope.md §3.2 step 1)
    assert.equal((await call({ ...ZHANG, EncryptList: [] })).Result, "0");
  });

  it("Region is accepted whatever its value", async () => {
    const res = await callTc3(server.port, key, ZHANG, { extraHeaders: { "X-TC-Region": "ap-nowhere" } });
    assert.equal(res.json.Response.Result, "0");
  });
});
