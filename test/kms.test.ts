/** The built-in KMS through the official SDK's KMS client, and PhoneVerification with encrypted fields. */
import assert from "node:assert/strict";
import { createCipheriv, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, it } from "node:test";
import { encryptRequestFields, type EncryptableField } from "../src/client/field-encryption";
import { callTc3, verify, type Key } from "./helpers/call";
import { sanyao, within } from "./helpers/cli";
import { fixtures, startTestServer, type TestServer, describeBackends } from "./helpers/server";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tencentcloud = require("tencentcloud-sdk-nodejs");

interface SdkError {
  code?: string;
}

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const REGION = "ap-guangzhou";

describeBackends("KMS and encrypted PhoneVerification", (backend) => {
  let server: TestServer;
  let owner: Key & { accountId: string };
  let stranger: Key & { accountId: string };
  const kms = (key: Key, region = REGION) =>
    new tencentcloud.kms.v20190118.Client({
      credential: { secretId: key.secretId, secretKey: key.secretKey },
      region,
      profile: { httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://" } },
    });
  const faceid = (key: Key) =>
    new tencentcloud.faceid.v20180301.Client({
      credential: { secretId: key.secretId, secretKey: key.secretKey },
      region: REGION,
      profile: { httpProfile: { endpoint: `localhost:${server.port}`, protocol: "http://" } },
    });
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
      return "(succeeded)";
    } catch (err) {
      return (err as SdkError).code;
    }
  };

  before(async () => {
    server = await startTestServer({}, backend);
    owner = await server.addAccount("owner");
    stranger = await server.addAccount("stranger");
    await server.installation.store.accounts.update(owner.accountId, { kmsAuthorized: true });
    await server.installation.store.accounts.update(stranger.accountId, { kmsAuthorized: true });
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
  });
  after(() => server.close());

  it("CreateKey, DescribeKey, ListKeys with the official KMS client", async () => {
    const client = kms(owner);
    const created = await client.CreateKey({ Alias: "faceid-fields", Description: "for tests" });
    assert.match(created.KeyId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual([created.Alias, created.KeyState, created.KeyUsage], ["faceid-fields", "Enabled", "ENCRYPT_DECRYPT"]);
    const described = await client.DescribeKey({ KeyId: created.KeyId });
    assert.equal(described.KeyMetadata.KeyId, created.KeyId);
    assert.equal(described.KeyMetadata.Alias, "faceid-fields");
    assert.equal(described.KeyMetadata.Origin, "TENCENT_KMS");
    await client.CreateKey({ Alias: "second" });
    const listed = await client.ListKeys({ Limit: 1 });
    assert.equal(listed.TotalCount, 2);
    assert.deepEqual(listed.Keys, [{ KeyId: created.KeyId }]);
    assert.equal((await client.ListKeys({ Offset: 1 })).Keys.length, 1);
    assert.equal(await code(client.CreateKey({ Alias: "faceid-fields" })), "InvalidParameterValue.AliasAlreadyExists");
    assert.equal(await code(client.CreateKey({ Alias: "-bad" })), "InvalidParameterValue.InvalidAlias");
    assert.equal(
      await code(client.CreateKey({ Alias: "rsa", KeyUsage: "ASYMMETRIC_DECRYPT_RSA_2048" })),
      "InvalidParameterValue.InvalidKeyUsage",
    );
    // keys are regional: the same account in another region sees none of them
    assert.equal((await kms(owner, "ap-shanghai").ListKeys({})).TotalCount, 0);
    assert.equal(await code(kms(owner, "xx-nowhere").ListKeys({})), "UnsupportedRegion");
    assert.equal(await code(kms(owner, "").ListKeys({})), "MissingParameter");
  });

  it("GenerateDataKey, Encrypt and Decrypt round trip; EncryptionContext binds", async () => {
    const client = kms(owner);
    const { KeyId } = await client.CreateKey({ Alias: "roundtrip" });
    const dk = await client.GenerateDataKey({ KeyId, KeySpec: "AES_256" });
    assert.equal(Buffer.from(dk.Plaintext, "base64").length, 32);
    const opened = await client.Decrypt({ CiphertextBlob: dk.CiphertextBlob });
    assert.deepEqual([opened.KeyId, opened.Plaintext], [KeyId, dk.Plaintext]);
    assert.equal(Buffer.from((await client.GenerateDataKey({ KeyId, NumberOfBytes: 7 })).Plaintext, "base64").length, 7);

    const secret = Buffer.from("small secret").toString("base64");
    const enc = await client.Encrypt({ KeyId, Plaintext: secret, EncryptionContext: '{"purpose":"test"}' });
    assert.equal((await client.Decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: '{"purpose":"test"}' })).Plaintext, secret);
    assert.equal(await code(client.Decrypt({ CiphertextBlob: enc.CiphertextBlob })), "FailedOperation.DecryptError");
    assert.equal(
      await code(client.Decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: '{"purpose":"other"}' })),
      "FailedOperation.DecryptError",
    );

    const raw = Buffer.from(enc.CiphertextBlob, "base64");
    raw.writeUInt8(raw.readUInt8(raw.length - 20) ^ 1, raw.length - 20);
    assert.equal(
      await code(client.Decrypt({ CiphertextBlob: raw.toString("base64"), EncryptionContext: '{"purpose":"test"}' })),
      "FailedOperation.DecryptError",
    );
    assert.equal(await code(client.Decrypt({ CiphertextBlob: "bm90IGEgYmxvYg==" })), "InvalidParameterValue.InvalidCiphertext");
    assert.equal(await code(client.Encrypt({ KeyId, Plaintext: "not base64!" })), "InvalidParameterValue.InvalidPlaintext");
    assert.equal(await code(client.GenerateDataKey({ KeyId })), "InvalidParameter");
    assert.equal(await code(client.GenerateDataKey({ KeyId, KeySpec: "AES_512" })), "InvalidParameterValue");
    assert.equal(await code(client.GenerateDataKey({ KeyId: "not-a-key", KeySpec: "AES_256" })), "InvalidParameterValue.InvalidKeyId");
  });

  it("a disabled key refuses work until enabled again", async () => {
    const client = kms(owner);
    const { KeyId } = await client.CreateKey({ Alias: "toggle" });
    const dk = await client.GenerateDataKey({ KeyId, KeySpec: "AES_256" });
    await client.DisableKey({ KeyId });
    assert.equal((await client.DescribeKey({ KeyId })).KeyMetadata.KeyState, "Disabled");
    assert.equal(await code(client.GenerateDataKey({ KeyId, KeySpec: "AES_256" })), "ResourceUnavailable.CmkDisabled");
    assert.equal(await code(client.Decrypt({ CiphertextBlob: dk.CiphertextBlob })), "ResourceUnavailable.CmkDisabled");
    await client.EnableKey({ KeyId });
    assert.equal((await client.Decrypt({ CiphertextBlob: dk.CiphertextBlob })).Plaintext, dk.Plaintext);
  });

  it("another account can neither use nor detect a key: it answers like a key that does not exist", async () => {
    const { KeyId } = await kms(owner).CreateKey({ Alias: "private" });
    const dk = await kms(owner).GenerateDataKey({ KeyId, KeySpec: "AES_256" });
    const other = kms(stranger);
    const missing = "00000000-0000-4000-8000-000000000000";
    for (const keyId of [KeyId, missing]) {
      assert.equal(await code(other.DescribeKey({ KeyId: keyId })), "ResourceUnavailable.CmkNotFound");
      assert.equal(await code(other.GenerateDataKey({ KeyId: keyId, KeySpec: "AES_256" })), "ResourceUnavailable.CmkNotFound");
      assert.equal(await code(other.DisableKey({ KeyId: keyId })), "ResourceUnavailable.CmkNotFound");
    }
    assert.equal(await code(other.Decrypt({ CiphertextBlob: dk.CiphertextBlob })), "ResourceUnavailable.CmkNotFound");
    assert.equal((await other.ListKeys({})).TotalCount, 0);
    // FaceID decrypts as the caller too: the stranger cannot use the owner's blob
    const params = encryptRequestFields(ZHANG, { plaintext: dk.Plaintext, ciphertextBlob: dk.CiphertextBlob }, ["Phone"]);
    assert.equal(await code(faceid(stranger).PhoneVerification(params)), "FailedOperation.DecryptSystemError");
  });

  it("the official FaceID client with encrypted fields: the same answer as plaintext for every subset and both Iv forms", async () => {
    const { KeyId } = await kms(owner).CreateKey({ Alias: "faceid" });
    const dk = await kms(owner).GenerateDataKey({ KeyId, KeySpec: "AES_256" });
    const dataKey = { plaintext: dk.Plaintext, ciphertextBlob: dk.CiphertextBlob };
    const client = faceid(owner);
    const people = [ZHANG, { ...ZHANG, Name: "李四", VerifyMode: "1" }, { ...ZHANG, Phone: "13900009999" }];
    const subsets: Exclude<EncryptableField, "Mobile">[][] = [
      ["IdCard"],
      ["Name"],
      ["Phone"],
      ["IdCard", "Name"],
      ["IdCard", "Phone"],
      ["Name", "Phone"],
      ["IdCard", "Name", "Phone"],
    ];
    for (const person of people) {
      const plain = await client.PhoneVerification(person);
      for (const fields of subsets) {
        const encrypted = await client.PhoneVerification(encryptRequestFields(person, dataKey, fields));
        assert.deepEqual({ ...encrypted, RequestId: "" }, { ...plain, RequestId: "" }, `${fields} ${person.Name}`);
        // the same with the Iv sent as base64 of 16 random bytes
        const ivBytes = randomBytes(16);
        const b64 = { ...person, CiphertextBlob: dk.CiphertextBlob, EncryptList: fields, Iv: ivBytes.toString("base64") } as Record<
          string,
          unknown
        >;
        for (const f of fields) {
          const c = createCipheriv("aes-256-cbc", Buffer.from(dk.Plaintext, "base64"), ivBytes);
          b64[f] = Buffer.concat([c.update(person[f], "utf8"), c.final()]).toString("base64");
        }
        const viaB64 = await client.PhoneVerification(b64);
        assert.deepEqual({ ...viaB64, RequestId: "" }, { ...plain, RequestId: "" });
      }
    }
  });

  it("decryption errors: field names, missing Iv or blob, bad Iv, authorisation, broken blob and fields", async () => {
    const { KeyId } = await kms(owner).CreateKey({ Alias: "errors" });
    const dk = await kms(owner).GenerateDataKey({ KeyId, KeySpec: "AES_256" });
    const good = encryptRequestFields(ZHANG, { plaintext: dk.Plaintext, ciphertextBlob: dk.CiphertextBlob }, ["IdCard", "Phone"]);
    const errorOf = async (params: Record<string, unknown>, key: Key = owner) => (await verify(server.port, key, params)).Error?.Code;

    assert.equal((await verify(server.port, owner, good)).Result, "0");
    assert.equal(await errorOf({ ...good, EncryptList: ["IdCard", "VerifyMode"] }), "InvalidParameter.UnsupportEncryptField");
    assert.equal(await errorOf({ ...good, EncryptList: ["IdCard", "IdCard"] }), "InvalidParameter");
    assert.equal(await errorOf({ ...good, Iv: undefined }), "InvalidParameter");
    assert.equal(await errorOf({ ...good, CiphertextBlob: undefined }), "InvalidParameter");
    assert.equal(await errorOf({ ...good, Iv: "short" }), "InvalidParameterValue");
    const tampered = Buffer.from(dk.CiphertextBlob, "base64");
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    assert.equal(await errorOf({ ...good, CiphertextBlob: tampered.toString("base64") }), "FailedOperation.DecryptSystemError");
    assert.equal(await errorOf({ ...good, CiphertextBlob: "garbage" }), "FailedOperation.DecryptSystemError");
    assert.equal(await errorOf({ ...good, Phone: "AAAA" }), "FailedOperation.DecryptSystemError");
    // blocks that decrypt to a bad PKCS#7 padding, and to valid padding around invalid UTF-8
    const block = (plain: Buffer) => {
      const c = createCipheriv("aes-256-ecb", Buffer.from(dk.Plaintext, "base64"), null).setAutoPadding(false);
      const xored = Buffer.from(plain.map((b, i) => b ^ Buffer.from(good.Iv)[i]!));
      return Buffer.concat([c.update(xored), c.final()]).toString("base64");
    };
    assert.equal(await errorOf({ ...good, Phone: block(Buffer.alloc(16, 0)) }), "FailedOperation.DecryptSystemError", "padding");
    assert.equal(
      await errorOf({ ...good, Phone: block(Buffer.from([...Array(15).fill(0xff), 1])) }),
      "FailedOperation.DecryptSystemError",
      "UTF-8",
    );
    assert.equal(
      (await verify(server.port, owner, { ...good, Phone: block(Buffer.from([...Buffer.from("13800001234"), 5, 5, 5, 5, 5])) })).Result,
      "0",
      "the same construction with a real value works",
    );
    // a data key that is not 32 bytes cannot be an AES-256 key
    const short = await kms(owner).GenerateDataKey({ KeyId, KeySpec: "AES_128" });
    assert.equal(await errorOf({ ...good, CiphertextBlob: short.CiphertextBlob }), "FailedOperation.DecryptSystemError");

    await server.installation.store.accounts.update(owner.accountId, { kmsAuthorized: false });
    try {
      // account changes reach a running server within a second
      await within(1000, async () => (await errorOf(good)) === "FailedOperation.StsUnAuthErrError");
    } finally {
      await server.installation.store.accounts.update(owner.accountId, { kmsAuthorized: true });
      await within(1000, async () => (await errorOf(good)) === undefined);
    }
    // a failed decryption is not charged
    const res = await callTc3(server.port, owner, { ...good, CiphertextBlob: "garbage" });
    assert.equal(res.headers["x-sanyao-billable"], "0");
  });

  it("the aes-cbc-fields.json vectors decrypt to their plaintexts, in both Iv forms", async () => {
    const { vectors, envelopes } = JSON.parse(fs.readFileSync(path.join(fixtures, "aes-cbc-fields.json"), "utf8"));
    const { KeyId } = await kms(owner).CreateKey({ Alias: "vectors" });
    for (const v of vectors) {
      // wrap the vector's data key with our KMS, then send the vector's ciphertext as the field
      const { CiphertextBlob } = await kms(owner).Encrypt({ KeyId, Plaintext: v.dekBase64 });
      const person = { ...ZHANG, [v.field]: v.plaintext };
      await server.addRecords([{ phone: person.Phone, name: person.Name, idcard: person.IdCard }]).catch(() => undefined);
      const plain = await verify(server.port, owner, person);
      for (const [iv, ciphertext] of [
        [v.iv, v.ciphertextBase64],
        [v.alternativeIvBase64Form.iv, v.alternativeIvBase64Form.ciphertextBase64],
      ]) {
        const encrypted = await verify(server.port, owner, {
          ...person,
          [v.field]: ciphertext,
          CiphertextBlob,
          EncryptList: [v.field],
          Iv: iv,
        });
        // A value its rule refuses (this identity number's check character) answers as a field that does not open:
        // an AES-256-CBC field is no oracle (faceid-family.md §7.7).
        if (["-6", "-7", "-8"].includes(String(plain.Result))) {
          assert.equal(encrypted.Error?.Code, "FailedOperation.DecryptSystemError", v.id);
          continue;
        }
        assert.equal(encrypted.Error, undefined, `${v.id}: ${JSON.stringify(encrypted.Error)}`);
        assert.deepEqual([encrypted.Result, encrypted.Isp], [plain.Result, plain.Isp], v.id);
      }
    }
    const envelope = envelopes[0];
    const { CiphertextBlob } = await kms(owner).Encrypt({ KeyId, Plaintext: envelope.kmsDecryptMock.response.Plaintext });
    const expected = await verify(server.port, owner, envelope.expectedDecryptedParams);
    const got = await verify(server.port, owner, { ...envelope.requestParams, CiphertextBlob });
    // its identity number's check character is wrong: in plaintext -7, encrypted a field that does not open
    assert.equal(expected.Result, "-7");
    assert.equal(got.Error?.Code, "FailedOperation.DecryptSystemError");
  });

  it("sanyao kms create-key and sanyao verify --encrypt, end to end", async () => {
    const created = await server.cli(["kms", "create-key", "--account", owner.accountId, "--alias", "cli-key", "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const { keyId } = JSON.parse(created.stdout);
    const res = await sanyao([
      "verify",
      "--endpoint",
      `http://127.0.0.1:${server.port}`,
      "--phone",
      ZHANG.Phone,
      "--name",
      ZHANG.Name,
      "--idcard",
      ZHANG.IdCard,
      "--encrypt",
      "--kms-key",
      keyId,
      "--secret-id",
      owner.secretId,
      "--secret-key",
      owner.secretKey,
    ]);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.equal(JSON.parse(res.stdout).Result, "0");
    const lastRequest = server.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === "request")
      .at(-1);
    assert.equal(lastRequest.action, "PhoneVerification");
    assert.equal(server.logs.map((l) => JSON.parse(l)).filter((l) => l.action === "GenerateDataKey").length > 0, true);
  });

  it("no data key, plaintext field or KMS key material reaches the store or the logs", async () => {
    const { KeyId } = await kms(owner).CreateKey({ Alias: "leak-check" });
    const dk = await kms(owner).GenerateDataKey({ KeyId, KeySpec: "AES_256" });
    const secretPerson = { Phone: "13700001357", Name: "欧阳修", IdCard: "370202198810093127" };
    await verify(
      server.port,
      owner,
      encryptRequestFields(secretPerson, { plaintext: dk.Plaintext, ciphertextBlob: dk.CiphertextBlob }, ["IdCard", "Name", "Phone"]),
    );
    const material = (await server.installation.store.kmsKeys.get(owner.accountId, KeyId))!.material;
    const dek = Buffer.from(dk.Plaintext, "base64");
    const needles = [
      dek,
      dek.toString("hex"),
      dk.Plaintext,
      material,
      material.toString("hex"),
      material.toString("base64"),
      ...Object.values(secretPerson),
    ].map((n) => (typeof n === "string" ? Buffer.from(n) : n));
    const stored = await server.storedData();
    assert.ok(stored.length > 1000, "the store was read");
    for (const n of needles) assert.equal(stored.includes(n), false, "found in the store");
    const logs = Buffer.from(server.logs.join("\n"));
    for (const n of needles) assert.equal(logs.includes(n), false, "found in the logs");
  });
});
