/**
 * No padding oracle in AES-256-CBC fields (issue 19 item 4; faceid-family.md §7.7): a field that does not open and
 * a field that opens to a value not well formed for it answer alike, through every action and both envelopes that
 * carry AES-256-CBC (the KMS data key and the RSA-wrapped key); failed openings are counted per SecretId and past
 * the budget that key's encrypted calls are refused until the window ends — across instances in scale-out.
 */
import assert from "node:assert/strict";
import { constants, createCipheriv, publicEncrypt, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { sm2, sm4 } from "sm-crypto-v2";
import { sm2PointFromPem } from "../src/encryption/sm2";
import { callTc3, type Key } from "./helpers/call";
import { sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { describeBackends, serversOnOneInstallation, startTestServer, tempDir, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
/** The documented default budget (docs/security-and-privacy.md, "The decryption-failure budget"): failed openings per SecretId per window. */
const BUDGET = 20;
const WINDOW_MS = 600_000;

type Answer = { code: string; message: string; billable: string | undefined; ms: number };

/** One AES-256-CBC block chain of `text` under `key` and `iv`, base64. */
function cbc(key: Buffer, iv: Buffer, text: string | Buffer): string {
  const c = createCipheriv("aes-256-cbc", key, iv);
  return Buffer.concat([c.update(text), c.final()]).toString("base64");
}

/** One block whose decryption under `key` and `iv` is exactly `plain` (16 bytes, padding and all). */
function blockFor(key: Buffer, iv: Buffer, plain: Buffer): string {
  const c = createCipheriv("aes-256-ecb", key, null).setAutoPadding(false);
  const xored = Buffer.from(plain.map((b, i) => b ^ (iv[i] ?? 0)));
  return Buffer.concat([c.update(xored), c.final()]).toString("base64");
}

describeBackends("no padding oracle in AES-256-CBC fields", (backend) => {
  let server: TestServer;
  let victim: Key & { accountId: string };
  let rsaPem: string;
  let sm2Pem: string;
  // The attack needs hundreds of failed openings under one key: this server's budget is out of its way.
  before(async () => {
    server = await startTestServer({ SANYAO_DECRYPT_FAILURE_LIMIT: "100000" }, backend);
    victim = await server.addAccount("victim");
    await server.installation.store.accounts.update(victim.accountId, { kmsAuthorized: true });
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
    const keys = await server.installation.envelopeKeys();
    rsaPem = keys.rsaPublicPem;
    sm2Pem = keys.sm2PublicPem;
  });
  after(() => server.close());

  const call = async (action: string, params: Record<string, unknown>, key: Key = victim): Promise<Answer> => {
    const started = process.hrtime.bigint();
    const res = await callTc3(server.port, key, params, { action });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const r = res.json.Response;
    const code = r.Error?.Code ?? `Result ${String(r.Result)}`;
    const message = r.Error?.Message ?? String(r.Description);
    return { code, message, billable: res.headers["x-sanyao-billable"] as string | undefined, ms };
  };
  const classes = (answers: Answer[]) => [...new Set(answers.map((a) => `${a.code} / ${a.message}`))];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const charged = async () =>
    (await server.installation.store.ledger.usage({ accountId: victim.accountId })).reduce((n, r) => n + r.charged, 0);

  /** A KMS data key of the victim's: its plaintext and its CiphertextBlob. */
  async function kmsDataKey(): Promise<{ key: Buffer; blob: string }> {
    const kms = (action: string, params: Record<string, unknown>) =>
      callTc3(server.port, victim, params, {
        action,
        service: "kms",
        version: "2019-01-18",
        extraHeaders: { "X-TC-Region": "ap-guangzhou" },
      }).then((r) => r.json.Response);
    const created = await kms("CreateKey", { Alias: `oracle-${randomBytes(4).toString("hex")}` });
    const dk = await kms("GenerateDataKey", { KeyId: created.KeyId, KeySpec: "AES_256" });
    return { key: Buffer.from(String(dk.Plaintext), "base64"), blob: String(dk.CiphertextBlob) };
  }

  function rsaDataKey(): { key: Buffer; blob: string } {
    const key = randomBytes(32);
    return { key, blob: publicEncrypt({ key: rsaPem, padding: constants.RSA_PKCS1_PADDING }, key).toString("base64") };
  }

  /**
   * The classic attack on a captured request: the phone's ciphertext kept, the IV the attacker's. Every value of
   * the IV's last byte, then (the last byte set for a padding of 2) every value of the one before. Byte 0 of the
   * IV differs from the captured one throughout, so no probe is the captured request itself.
   */
  async function attack(send: (ivBase64: string, phone: string) => Promise<Answer>, key: Buffer): Promise<Answer[]> {
    const iv0 = randomBytes(16);
    const phone = cbc(key, iv0, ZHANG.Phone);
    const iv = Buffer.from(iv0);
    iv[0] = (iv[0] ?? 0) ^ 0x01;
    const answers: Answer[] = [];
    for (let b = 0; b < 256; b++) {
      iv[15] = b;
      answers.push(await send(iv.toString("base64"), phone));
    }
    // The captured plaintext's last byte is the padding 0x05: this IV byte makes it 0x02.
    iv[15] = (iv0[15] ?? 0) ^ 0x05 ^ 0x02;
    for (let b = 0; b < 256; b++) {
      iv[14] = b;
      answers.push(await send(iv.toString("base64"), phone));
    }
    return answers;
  }

  it("the attack on an encrypted phone sees one answer class: PhoneVerification with an RSA-wrapped key (flat fields)", async (t) => {
    const before = await charged();
    const { key, blob } = rsaDataKey();
    const answers = await attack(
      (iv, phone) => call("PhoneVerification", { ...ZHANG, Phone: phone, CiphertextBlob: blob, EncryptList: ["Phone"], Iv: iv }),
      key,
    );
    t.diagnostic(`answer classes over ${answers.length} probes: ${JSON.stringify(classes(answers))}`);
    t.diagnostic(
      `median round trip ${median(answers.map((a) => a.ms)).toFixed(2)} ms; probes not answered DecryptSystemError: ${answers.filter((a) => a.code !== "FailedOperation.DecryptSystemError").length}`,
    );
    assert.deepEqual(classes(answers), ["FailedOperation.DecryptSystemError / Decryption failed."]);
    assert.ok(answers.every((a) => a.billable === "0"));
    assert.equal(await charged(), before);
  });

  it("the attack sees one answer class: PhoneVerification with a KMS data key (the legacy envelope)", async (t) => {
    const { key, blob } = await kmsDataKey();
    const answers = await attack(
      (iv, phone) => call("PhoneVerification", { ...ZHANG, Phone: phone, CiphertextBlob: blob, EncryptList: ["Phone"], Iv: iv }),
      key,
    );
    t.diagnostic(`answer classes: ${JSON.stringify(classes(answers))}`);
    assert.deepEqual(classes(answers), ["FailedOperation.DecryptSystemError / Decryption failed."]);
  });

  it("the attack sees one answer class: PhoneVerificationCMCC with the Encryption object", async (t) => {
    const { key, blob } = rsaDataKey();
    const answers = await attack(
      (iv, phone) =>
        call("PhoneVerificationCMCC", {
          ...ZHANG,
          Phone: phone,
          Encryption: { EncryptList: ["Phone"], CiphertextBlob: blob, Iv: iv, Algorithm: "AES-256-CBC" },
        }),
      key,
    );
    t.diagnostic(`answer classes: ${JSON.stringify(classes(answers))}`);
    assert.deepEqual(classes(answers), ["FailedOperation.DecryptSystemError / Decryption failed."]);
  });

  /** Each action with AES-256-CBC fields, a good request, and the value of each field that is not well formed. */
  const ACTIONS: ReadonlyArray<{ action: string; params: Record<string, string>; object: boolean; malformed: Record<string, string> }> = [
    {
      action: "PhoneVerification",
      params: ZHANG,
      object: false,
      malformed: { Phone: "1380000123x", Name: "张3", IdCard: "110105199003072144" },
    },
    { action: "PhoneVerificationCMCC", params: ZHANG, object: true, malformed: { Phone: "02", Name: "Z", IdCard: "11010519900307214" } },
    { action: "PhoneVerificationCTCC", params: ZHANG, object: true, malformed: { Phone: "12345678901", Name: "", IdCard: "x" } },
    {
      action: "PhoneVerificationCUCC",
      params: ZHANG,
      object: true,
      malformed: { Phone: "+1 555 0100", Name: "张 三3", IdCard: "990105199003072143" },
    },
    {
      action: "CheckPhoneAndName",
      params: { Mobile: ZHANG.Phone, Name: ZHANG.Name },
      object: true,
      malformed: { Mobile: "1", Name: "张\u0000三" },
    },
    { action: "MobileStatus", params: { Mobile: ZHANG.Phone }, object: true, malformed: { Mobile: "00000000000" } },
    { action: "MobileNetworkTimeVerification", params: { Mobile: ZHANG.Phone }, object: true, malformed: { Mobile: "abc" } },
    {
      action: "IdCardVerification",
      params: { IdCard: ZHANG.IdCard, Name: ZHANG.Name },
      object: true,
      malformed: { IdCard: "110105209903072143", Name: "!" },
    },
  ];

  it("every action, every AES-256-CBC field, both envelopes: bad padding, bad UTF-8 and a malformed value answer alike", async (t) => {
    const before = await charged();
    const kmsKey = await kmsDataKey();
    for (const { action, params, object, malformed } of ACTIONS) {
      const envelopes = object ? [rsaDataKey()] : [rsaDataKey(), kmsKey];
      for (const { key, blob } of envelopes) {
        const iv = randomBytes(16);
        const request = (field: string, value: string) => {
          const envelope = { EncryptList: [field], CiphertextBlob: blob, Iv: iv.toString("base64") };
          return object
            ? { ...params, [field]: value, Encryption: { ...envelope, Algorithm: "AES-256-CBC" } }
            : { ...params, [field]: value, ...envelope };
        };
        for (const field of Object.keys(malformed)) {
          const good = await call(action, request(field, cbc(key, iv, params[field] ?? "")));
          assert.ok(!good.code.startsWith("FailedOperation."), `${action} ${field}: the good request answers ${good.code}`);
          const probes = {
            "bad padding": blockFor(key, iv, Buffer.alloc(16, 0)),
            "bad UTF-8": blockFor(key, iv, Buffer.from([...Array(15).fill(0xff), 1])),
            "not base64": "%%%%",
            "malformed value": cbc(key, iv, malformed[field] ?? ""),
            "padded garbage": blockFor(key, iv, Buffer.from([...Buffer.from("1380000123"), 0x01, 5, 5, 5, 5, 5])),
          };
          const answers: Record<string, string> = {};
          for (const [kind, value] of Object.entries(probes)) {
            const a = await call(action, request(field, value));
            answers[kind] = `${a.code} / ${a.message}`;
          }
          const seen = new Set(Object.values(answers));
          if (seen.size !== 1) t.diagnostic(`${action} ${field}: ${JSON.stringify(answers)}`);
          assert.deepEqual([...seen], ["FailedOperation.DecryptSystemError / Decryption failed."], `${action} ${field}`);
        }
      }
    }
    // the good requests of PhoneVerification's family are charged, no failure is
    assert.ok((await charged()) >= before);
    const failures = await call("PhoneVerification", { ...ZHANG, CiphertextBlob: "eA==", EncryptList: ["Phone"], Iv: "abcdef0123456789" });
    assert.equal(failures.billable, "0");
  });

  it("SM4-GCM is authenticated: every failure answers alike, and a malformed value is the caller's own (answered as in plaintext)", async () => {
    const key = randomBytes(16);
    const nonce = randomBytes(12);
    const point = sm2PointFromPem(sm2Pem) ?? "";
    const blob = Buffer.from(`04${sm2.doEncrypt(new Uint8Array(key), point, 1)}`, "hex").toString("base64");
    const seal = (text: string) => {
      const sealed = sm4.encrypt(new Uint8Array(Buffer.from(text, "utf8")), new Uint8Array(key), {
        mode: "gcm",
        iv: new Uint8Array(nonce),
        padding: "none",
        output: "array",
        outputTag: true,
      });
      return { data: Buffer.from(sealed.output).toString("base64"), tag: Buffer.from(sealed.tag ?? []).toString("base64") };
    };
    const request = (value: { data: string; tag: string }, over: Record<string, unknown> = {}) => ({
      ...ZHANG,
      Phone: value.data,
      Encryption: {
        EncryptList: ["Phone"],
        CiphertextBlob: blob,
        Iv: nonce.toString("base64"),
        Algorithm: "SM4-GCM",
        TagList: [value.tag],
        ...over,
      },
    });
    const good = seal(ZHANG.Phone);
    assert.equal((await call("PhoneVerificationCMCC", request(good))).code, "Result 0");
    const flipped = Buffer.from(good.tag, "base64");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const failures = [
      request({ ...good, tag: flipped.toString("base64") }),
      request(good, {
        CiphertextBlob: Buffer.from(`04${sm2.doEncrypt(new Uint8Array(randomBytes(16)), point, 1)}`, "hex").toString("base64"),
      }),
      request(good, { Iv: randomBytes(12).toString("base64") }),
      request({ data: "%%", tag: good.tag }),
      request(good, { TagList: [] }),
    ];
    const answers = await Promise.all(failures.map((f) => call("PhoneVerificationCMCC", f)));
    assert.deepEqual(classes(answers), ["FailedOperation.DecryptSystemError / Decryption failed."]);
    assert.equal((await call("PhoneVerificationCMCC", request(seal("1380000123x")))).code, "Result -6");
  });
});

describeBackends("the decryption-failure budget", (backend) => {
  // Two instances on one installation in scale-out (the failures are counted in Redis); one embedded server otherwise.
  let servers: TestServer[];
  let key: Key & { accountId: string };
  let other: Key;
  let rsaPem: string;
  let now = 0;

  before(async () => {
    const started = await serversOnOneInstallation(backend);
    const [first] = started;
    servers = started;
    key = await first.addAccount("budget");
    const second = await first.installation.store.apiKeys.create(key.accountId);
    other = { secretId: second.secretId, secretKey: second.secretKey };
    await first.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
    rsaPem = (await first.installation.envelopeKeys()).rsaPublicPem;
    // A fixed clock, one second into a window: the whole budget is spent in that window.
    now = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS + 1000;
    for (const s of servers) s.setNow(now);
  });
  after(async () => {
    for (const s of [...servers].reverse()) await s.close();
  });

  const call = async (server: TestServer, params: Record<string, unknown>, k: Key = key) => {
    const res = await callTc3(server.port, k, params, { action: "PhoneVerification", timestamp: Math.floor(now / 1000) });
    return res.json.Response;
  };
  /** PhoneVerification with the phone encrypted under an RSA-wrapped key: `text`, or a block of bad padding. */
  const encrypted = (text: string | "bad padding" = ZHANG.Phone) => {
    const dek = randomBytes(32);
    const iv = randomBytes(16);
    const phone = text === "bad padding" ? blockFor(dek, iv, Buffer.alloc(16, 0)) : cbc(dek, iv, text);
    const blob = publicEncrypt({ key: rsaPem, padding: constants.RSA_PKCS1_PADDING }, dek).toString("base64");
    return { ...ZHANG, Phone: phone, CiphertextBlob: blob, EncryptList: ["Phone"], Iv: iv.toString("base64") };
  };
  const serverFor = (i: number): TestServer => {
    const server = servers[i % servers.length];
    if (!server) throw new Error("no server started");
    return server;
  };

  it("the legitimate encrypted call works; past the budget the key's encrypted calls are refused until the window ends", async () => {
    assert.equal((await call(serverFor(0), encrypted())).Result, "0", "before any failure");
    for (let i = 0; i < BUDGET; i++) {
      // a bad padding and a malformed value, in turn, spread over the instances
      const params = encrypted(i % 2 === 0 ? "bad padding" : "138000012");
      assert.equal((await call(serverFor(i), params)).Error?.Code, "FailedOperation.DecryptSystemError", `failure ${i + 1}`);
    }
    for (const server of servers) {
      const refused = await call(server, encrypted());
      assert.equal(refused.Error?.Code, "FailedOperation.RequestLimitExceeded", "a good encrypted call past the budget");
      assert.match(refused.Error?.Message ?? "", /decrypt/i);
      // plaintext calls of the key, and encrypted calls of the account's other key, are not refused
      assert.equal((await call(server, ZHANG)).Result, "0");
      assert.equal((await call(server, encrypted(), other)).Result, "0");
    }
    const logs = servers.flatMap((s) => s.logs);
    const lockout = logs.filter((l) => /"msg":"decryption failures/.test(l));
    assert.equal(lockout.length, 1, "one log line when the budget is reached");
    assert.match(lockout[0] ?? "", new RegExp(key.secretId));
    assert.doesNotMatch(lockout[0] ?? "", /1380000|110105|张三/);
    let lockouts = 0;
    for (const s of servers) {
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      lockouts += Number(/^sanyao_decrypt_lockouts_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      assert.match(metrics, /^sanyao_decrypt_failures_total \d+/m);
    }
    assert.equal(lockouts, 1);

    // the next window: the key's encrypted calls are served again
    now += WINDOW_MS;
    for (const s of servers) s.setNow(now);
    for (const server of servers) assert.equal((await call(server, encrypted())).Result, "0", "after the window");
  });
});

describe("the decryption-failure budget with serve --workers 2", () => {
  const data = tempDir();
  // A fixed clock one second into a window, and a budget of 6: the primary process keeps the count for both workers.
  const now = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS + 1000;
  let server: ServeProcess;
  let key: Key;
  let rsaPem = "";
  before(async () => {
    server = await serveProcess(["--data", data, "--workers", "2"], { SANYAO_CLOCK: String(now), SANYAO_DECRYPT_FAILURE_LIMIT: "6" });
    const cli = async (...args: string[]) => JSON.parse((await sanyao([...args, "--data", data, "--json"])).stdout);
    const account = await cli("accounts", "create", "--name", "w");
    key = await cli("keys", "create", "--account", account.accountId);
    await cli("accounts", "set", account.accountId, "--daily-cap", "0", "--rate-limit", "100000");
    rsaPem = Buffer.from((await cli("encryption", "public-keys")).rsa, "base64").toString();
  });
  after(() => server.stop());

  const call = async (phone: string | "bad padding") => {
    const dek = randomBytes(32);
    const iv = randomBytes(16);
    const blob = publicEncrypt({ key: rsaPem, padding: constants.RSA_PKCS1_PADDING }, dek).toString("base64");
    const value = phone === "bad padding" ? blockFor(dek, iv, Buffer.alloc(16, 0)) : cbc(dek, iv, phone);
    const params = { ...ZHANG, Phone: value, CiphertextBlob: blob, EncryptList: ["Phone"], Iv: iv.toString("base64") };
    // a connection each: the calls spread over both workers
    const res = await callTc3(server.port, key, params, { timestamp: Math.floor(now / 1000), extraHeaders: { Connection: "close" } });
    const r = res.json.Response;
    return { code: r.Error?.Code ?? `Result ${String(r.Result)}`, requestId: r.RequestId };
  };
  /** The worker process that answered each request, from the log lines of both. */
  const workerOf = (): Map<string, number> =>
    new Map(
      server
        .stdout()
        .split("\n")
        .filter((l) => l.includes('"msg":"request"'))
        .map((l) => {
          const line = JSON.parse(l) as { requestId: string; pid: number };
          return [line.requestId, line.pid];
        }),
    );
  const pidsOf = (requestIds: readonly string[]) => new Set(requestIds.map((id) => workerOf().get(id)).filter((pid) => pid !== undefined));

  it("failures on either worker spend one budget: past it, both refuse the key's encrypted calls", async () => {
    // Both workers are up once each has answered a good encrypted call (not a failure: it spends nothing).
    const good: string[] = [];
    for (let i = 0; i < 60 && pidsOf(good).size < 2; i++) {
      const answer = await call(ZHANG.Phone);
      assert.match(answer.code, /^Result -?\d+$/, "a good encrypted call is answered");
      good.push(answer.requestId);
    }
    assert.equal(pidsOf(good).size, 2, "both workers answer");
    const failures: string[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await call("bad padding");
      assert.equal(answer.code, "FailedOperation.DecryptSystemError", `failure ${i + 1}`);
      failures.push(answer.requestId);
    }
    const refused: string[] = [];
    for (let i = 0; i < 60 && pidsOf(refused).size < 2; i++) {
      const answer = await call(ZHANG.Phone);
      assert.equal(answer.code, "FailedOperation.RequestLimitExceeded", `call ${i + 1} past the budget`);
      refused.push(answer.requestId);
    }
    assert.equal(pidsOf(refused).size, 2, "both workers refuse");
  });
});
