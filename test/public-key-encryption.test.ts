/**
 * FaceID's public-key field encryption (faceid-family.md §4, §7.4–7.9, §7.17): the known-answer vectors of §4.6,
 * the constant-time RSA unpadding, SM2 key interchange, and requests built exactly as Tencent's helpers build
 * them, sent by the official SDK to every action in TC3 POST (nested `Encryption`), TC3 GET and v1 (flattened
 * `Encryption.EncryptList.0=…`), answering as the plaintext request does; then each failure's code.
 */
import assert from "node:assert/strict";
import { constants, createCipheriv, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { sm2, sm4 } from "sm-crypto-v2";
import { encryptRequestFields } from "../src/client/field-encryption";
import { aesCbcDecrypt, sm4GcmDecrypt } from "../src/encryption/field-ciphers";
import { unpadPkcs1Constant } from "../src/encryption/rsa-unwrap";
import { sm2PointFromPem, sm2PublicKeyPem } from "../src/encryption/sm2";
import { type FaceIdActionName, faceidSdk } from "./helpers/sdk";
import { describeBackends, fixtures, repoRoot, startTestServer, type TestServer } from "./helpers/server";

interface Vectors {
  aes256cbc: { keyAscii: string; iv: string; fields: Array<{ plaintext: string; ciphertext: string }> };
  sm4gcm: { keyAscii: string; iv: string; fields: Array<{ plaintext: string; ciphertext: string; tag: string }> };
  tencentSm2Point: string;
  tencentRsaModulusPrefix: string;
}
const VECTORS = JSON.parse(fs.readFileSync(path.join(fixtures, "public-key-vectors.json"), "utf8")) as Vectors;

describe("public-key encryption: known answers and building blocks", () => {
  it("AES-256-CBC and SM4-GCM decrypt the §4.6 vectors", () => {
    const aes = VECTORS.aes256cbc;
    for (const f of aes.fields) {
      const text = aesCbcDecrypt(Buffer.from(aes.keyAscii), Buffer.from(aes.iv, "base64"), Buffer.from(f.ciphertext, "base64"));
      assert.equal(text, f.plaintext);
    }
    const gcm = VECTORS.sm4gcm;
    for (const f of gcm.fields) {
      const key = Buffer.from(gcm.keyAscii);
      const iv = Buffer.from(gcm.iv, "base64");
      assert.equal(sm4GcmDecrypt(key, iv, Buffer.from(f.ciphertext, "base64"), Buffer.from(f.tag, "base64")), f.plaintext);
      const badTag = Buffer.from(f.tag, "base64");
      badTag[3]! ^= 1;
      assert.equal(sm4GcmDecrypt(key, iv, Buffer.from(f.ciphertext, "base64"), badTag), undefined);
    }
  });

  it("PKCS#1 v1.5 unpadding: a well-formed block gives its key, anything else the same synthetic key", () => {
    const rejection = randomBytes(32);
    const key = randomBytes(32);
    const ps = Buffer.alloc(256 - 3 - 32);
    for (let i = 0; i < ps.length; i++) ps[i] = 1 + (i % 255);
    const good = Buffer.concat([Buffer.from([0, 2]), ps, Buffer.from([0]), key]);
    const ct = randomBytes(256);
    assert.deepEqual(unpadPkcs1Constant(good, rejection, ct), key);
    const synthetic = unpadPkcs1Constant(Buffer.alloc(256), rejection, ct);
    const broken = (mutate: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      mutate(b);
      return unpadPkcs1Constant(b, rejection, ct);
    };
    assert.deepEqual(
      broken((b) => (b[0] = 1)),
      synthetic,
      "first byte",
    );
    assert.deepEqual(
      broken((b) => (b[1] = 1)),
      synthetic,
      "block type 1",
    );
    assert.deepEqual(
      broken((b) => (b[10] = 0)),
      synthetic,
      "a zero in the padding: the key is shorter than 32 bytes",
    );
    assert.deepEqual(
      broken((b) => (b[256 - 33] = 7)),
      synthetic,
      "no separator before the key",
    );
    assert.notDeepEqual(synthetic, key);
    assert.equal(synthetic.length, 32);
  });

  it("our SM2 public key PEM is the SPKI OpenSSL writes for an SM2 key; Tencent's own key reads back to its point", () => {
    const { publicKey } = sm2.generateKeyPairHex();
    const pem = sm2PublicKeyPem(publicKey);
    assert.equal(sm2PointFromPem(pem), publicKey);
    // Node (OpenSSL) makes SM2 keys but not SM2 ciphertexts: its SPKI of one has our prefix, and it reads ours
    const native = generateKeyPairSync("ec", { namedCurve: "SM2" }).publicKey.export({ type: "spki", format: "pem" }).toString();
    const nativePoint = sm2PointFromPem(native);
    assert.ok(nativePoint);
    assert.equal(sm2PublicKeyPem(nativePoint), native);
    assert.equal(createPublicKey(pem).export({ type: "spki", format: "der" }).subarray(-65).toString("hex"), publicKey);
    const tencentSm2 = fs.readFileSync(path.join(repoRoot, "tables", "tencent-public-keys", "tc_sm2_pub.pem"), "utf8");
    assert.equal(sm2PointFromPem(tencentSm2), VECTORS.tencentSm2Point);
    const tencentRsa = fs.readFileSync(path.join(repoRoot, "tables", "tencent-public-keys", "tc_rsa_pub.pem"), "utf8");
    const rsa = createPublicKey(tencentRsa).export({ format: "jwk" });
    assert.equal(
      Buffer.from(rsa.n ?? "", "base64url")
        .subarray(0, 8)
        .toString("hex"),
      VECTORS.tencentRsaModulusPrefix,
    );
  });
});

/** What one encrypted request carries: built here by hand, as Tencent's helpers do it (§4.3). */
interface Envelope {
  blob: string;
  iv: string;
  tags: string[];
  values: Record<string, string>;
}

type Algorithm = "AES-256-CBC" | "SM4-GCM";

/** Wraps `symmetric` and encrypts the fields; `ivText` is the Iv as sent, `ivBytes` what it stands for. */
function helperEnvelope(
  algorithm: Algorithm,
  pems: { rsa: string; sm2: string },
  fields: Record<string, string>,
  o: { symmetric?: Buffer; ivText?: string; ivBytes?: Buffer } = {},
): Envelope {
  const values: Record<string, string> = {};
  const tags: string[] = [];
  if (algorithm === "AES-256-CBC") {
    const key = o.symmetric ?? randomBytes(32);
    const ivBytes = o.ivBytes ?? randomBytes(16);
    for (const [name, text] of Object.entries(fields)) {
      const c = createCipheriv("aes-256-cbc", key, ivBytes);
      values[name] = Buffer.concat([c.update(text, "utf8"), c.final()]).toString("base64");
    }
    const blob = publicEncrypt({ key: pems.rsa, padding: constants.RSA_PKCS1_PADDING }, key).toString("base64");
    return { blob, iv: o.ivText ?? ivBytes.toString("base64"), tags, values };
  }
  const key = o.symmetric ?? randomBytes(16);
  const ivBytes = o.ivBytes ?? randomBytes(12);
  for (const [name, text] of Object.entries(fields)) {
    const sealed = sm4.encrypt(new Uint8Array(Buffer.from(text, "utf8")), new Uint8Array(key), {
      mode: "gcm",
      iv: new Uint8Array(ivBytes),
      padding: "none",
      output: "array",
      outputTag: true,
    });
    values[name] = Buffer.from(sealed.output).toString("base64");
    tags.push(Buffer.from(sealed.tag ?? []).toString("base64"));
  }
  const point = sm2PointFromPem(pems.sm2)!;
  const blob = Buffer.from(`04${sm2.doEncrypt(new Uint8Array(key), point, 1)}`, "hex").toString("base64");
  return { blob, iv: o.ivText ?? ivBytes.toString("base64"), tags, values };
}

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

/** Each action with the Encryption object, its plaintext request and the fields it lets a caller encrypt. */
const ACTIONS: ReadonlyArray<{ action: FaceIdActionName; params: Record<string, string>; encryptable: string[] }> = [
  { action: "PhoneVerificationCMCC", params: ZHANG, encryptable: ["IdCard", "Name", "Phone"] },
  {
    action: "PhoneVerificationCTCC",
    params: { Phone: "18900005678", Name: "买买提·吐尔逊", IdCard: "32010219881115306X" },
    encryptable: ["IdCard", "Name", "Phone"],
  },
  {
    action: "PhoneVerificationCUCC",
    params: { Phone: "18600002468", Name: "李娜", IdCard: "440305200002295620" },
    encryptable: ["IdCard", "Name", "Phone"],
  },
  { action: "CheckPhoneAndName", params: { Mobile: ZHANG.Phone, Name: ZHANG.Name }, encryptable: ["Mobile", "Name"] },
  { action: "MobileStatus", params: { Mobile: ZHANG.Phone }, encryptable: ["Mobile"] },
  { action: "MobileNetworkTimeVerification", params: { Mobile: ZHANG.Phone }, encryptable: ["Mobile"] },
  { action: "IdCardVerification", params: { IdCard: ZHANG.IdCard, Name: ZHANG.Name }, encryptable: ["IdCard", "Name"] },
];

function subsets<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = 1; mask < 1 << items.length; mask++) out.push(items.filter((_, i) => mask & (1 << i)));
  return out;
}

const withoutRequestId = (r: Record<string, unknown>) => ({ ...r, RequestId: "" });

describeBackends("public-key field encryption through the SDK", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  let pems: { rsa: string; sm2: string };
  let helperKeys: { rsa: string; sm2: string };
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("encrypting");
    await server.addRecords([
      { phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard, network_since: "2021-03-15" },
      { phone: "18900005678", name: "买买提·吐尔逊", idcard: "32010219881115306X" },
      { phone: "18600002468", name: "李娜", idcard: "440305200002295620" },
    ]);
    const printed = await server.cli(["encryption", "public-keys", "--json"]);
    assert.equal(printed.code, 0, printed.stderr);
    helperKeys = JSON.parse(printed.stdout) as { rsa: string; sm2: string };
    pems = { rsa: Buffer.from(helperKeys.rsa, "base64").toString(), sm2: Buffer.from(helperKeys.sm2, "base64").toString() };
  });
  after(() => server.close());

  const client = (profile: Record<string, unknown> = {}, httpProfile: Record<string, unknown> = {}) =>
    faceidSdk(server.port, key, { profile, httpProfile });
  const charged = async () =>
    (await server.installation.store.ledger.usage({ accountId: key.accountId })).reduce((n, r) => n + r.charged, 0);
  const errorOf = async (action: FaceIdActionName, params: Record<string, unknown>) => {
    try {
      await client()[action](params);
    } catch (err) {
      return (err as { code?: string }).code;
    }
    return "no error";
  };

  it("the public keys are the helpers' form: base64 of a PKCS#1 RSA-2048 PEM and of an SM2 SPKI PEM", () => {
    assert.match(pems.rsa, /^-----BEGIN RSA PUBLIC KEY-----\n/);
    assert.equal(createPublicKey(pems.rsa).asymmetricKeyDetails?.modulusLength, 2048);
    assert.match(pems.sm2, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(sm2PointFromPem(pems.sm2)?.length, 130);
  });

  it("every subset of encryptable fields, both algorithms, both IV forms: the plaintext answer, charged alike", async () => {
    const sdk = client();
    const chargedBefore = await charged();
    let chargedAnswers = 0;
    for (const { action, params, encryptable } of ACTIONS) {
      const plain = withoutRequestId(await sdk[action](params));
      for (const algorithm of ["AES-256-CBC", "SM4-GCM"] as const) {
        // the helpers' base64 IV, and the raw form (16 characters for AES, the 12 bytes' worth of text for GCM)
        const rawIv = algorithm === "AES-256-CBC" ? "aabbccddeeffgghh" : "0123456789ab";
        for (const ivForm of ["base64", "raw"] as const) {
          for (const fields of subsets(encryptable)) {
            const env = helperEnvelope(
              algorithm,
              pems,
              Object.fromEntries(fields.map((f) => [f, params[f]!])),
              ivForm === "raw" ? { ivText: rawIv, ivBytes: Buffer.from(rawIv) } : {},
            );
            const Encryption = { EncryptList: fields, CiphertextBlob: env.blob, Iv: env.iv, Algorithm: algorithm, TagList: env.tags };
            const answer = await sdk[action]({ ...params, ...env.values, Encryption });
            assert.deepEqual(withoutRequestId(answer), plain, `${action} ${algorithm} ${ivForm} ${fields}`);
            if (answer.Result === "0") chargedAnswers++;
          }
        }
      }
      chargedAnswers++; // the plaintext call
    }
    assert.equal((await charged()) - chargedBefore, chargedAnswers);
  });

  it("PhoneVerification's flat fields take an RSA-wrapped AES key too, with no KMS authorisation", async () => {
    await server.installation.store.accounts.update(key.accountId, { kmsAuthorized: false });
    const sdk = client();
    const plain = withoutRequestId(await sdk.PhoneVerification(ZHANG));
    for (const ivForm of ["base64", "raw"] as const) {
      for (const fields of subsets(["IdCard", "Name", "Phone"])) {
        const values = Object.fromEntries(fields.map((f) => [f, ZHANG[f as keyof typeof ZHANG]]));
        const raw = "aabbccddeeffgghh";
        const env = helperEnvelope("AES-256-CBC", pems, values, ivForm === "raw" ? { ivText: raw, ivBytes: Buffer.from(raw) } : {});
        const answer = await sdk.PhoneVerification({ ...ZHANG, ...env.values, CiphertextBlob: env.blob, EncryptList: fields, Iv: env.iv });
        assert.deepEqual(withoutRequestId(answer), plain, `${ivForm} ${fields}`);
      }
    }
    // and through the typed client's encryptRequestFields
    const viaClient = encryptRequestFields(ZHANG, { algorithm: "AES-256-CBC", publicKey: helperKeys.rsa, form: "flat" }, [
      "Phone",
      "IdCard",
    ]);
    assert.deepEqual(withoutRequestId(await sdk.PhoneVerification(viaClient)), plain);
  });

  it("TC3 GET and v1 flatten Encryption to Encryption.EncryptList.0=…; answered as in TC3 POST", async () => {
    const modes = [client({}, { reqMethod: "GET" }), client({ signMethod: "HmacSHA256" })];
    for (const sdk of modes) {
      for (const { action, params, encryptable } of ACTIONS) {
        const plain = withoutRequestId(await sdk[action](params));
        for (const algorithm of ["AES-256-CBC", "SM4-GCM"] as const) {
          const publicKey = algorithm === "AES-256-CBC" ? helperKeys.rsa : helperKeys.sm2;
          const request = encryptRequestFields(
            params,
            { algorithm, publicKey },
            encryptable as Array<"Mobile" | "Name" | "IdCard" | "Phone">,
          );
          assert.deepEqual(withoutRequestId(await sdk[action](request)), plain, `${action} ${algorithm}`);
        }
      }
    }
  });

  it("failures: fields not allowed, unknown Algorithm, tampered blob, tag, IV, padding, wrong key size", async () => {
    const fields = { Phone: ZHANG.Phone, Name: ZHANG.Name };
    const aes = helperEnvelope("AES-256-CBC", pems, fields);
    const gcm = helperEnvelope("SM4-GCM", pems, fields);
    const request = (env: Envelope, algorithm: Algorithm, over: Record<string, unknown> = {}) => ({
      ...ZHANG,
      ...env.values,
      Encryption: {
        EncryptList: ["Phone", "Name"],
        CiphertextBlob: env.blob,
        Iv: env.iv,
        Algorithm: algorithm,
        TagList: env.tags,
        ...over,
      },
    });
    const cmcc = (params: Record<string, unknown>) => errorOf("PhoneVerificationCMCC", params);
    const flip = (b64: string, at: number) => {
      const b = Buffer.from(b64, "base64");
      b[at]! ^= 0x01;
      return b.toString("base64");
    };
    assert.equal(await cmcc(request(aes, "AES-256-CBC")), "no error");
    assert.equal(await cmcc(request(gcm, "SM4-GCM")), "no error");
    // a missing Algorithm means AES-256-CBC
    assert.equal(await cmcc(request(aes, "AES-256-CBC", { Algorithm: undefined })), "no error");
    const chargedBefore = await charged();

    assert.equal(await cmcc(request(aes, "AES-256-CBC", { EncryptList: ["Foo"] })), "InvalidParameter.UnsupportEncryptField");
    assert.equal(await cmcc(request(aes, "AES-256-CBC", { EncryptList: ["Mobile"] })), "InvalidParameter.UnsupportEncryptField");
    assert.equal(
      await errorOf("MobileStatus", { Mobile: ZHANG.Phone, Encryption: { EncryptList: ["Phone"], CiphertextBlob: aes.blob, Iv: aes.iv } }),
      "InvalidParameter.UnsupportEncryptField",
    );
    assert.equal(await cmcc(request(aes, "AES-256-CBC", { Algorithm: "AES-128-CBC" })), "InvalidParameterValue");

    const decryptFailure = "FailedOperation.DecryptSystemError";
    assert.equal(await cmcc(request(aes, "AES-256-CBC", { CiphertextBlob: flip(aes.blob, 100) })), decryptFailure, "RSA blob");
    assert.equal(await cmcc(request(gcm, "SM4-GCM", { CiphertextBlob: flip(gcm.blob, 100) })), decryptFailure, "SM2 C2/C3");
    assert.equal(await cmcc(request(gcm, "SM4-GCM", { CiphertextBlob: flip(gcm.blob, 5) })), decryptFailure, "SM2 C1");
    assert.equal(await cmcc(request(gcm, "SM4-GCM", { TagList: [flip(gcm.tags[0]!, 0), gcm.tags[1]] })), decryptFailure, "tag");
    assert.equal(await cmcc(request(gcm, "SM4-GCM", { TagList: [gcm.tags[0]] })), decryptFailure, "a tag missing");
    assert.equal(await cmcc(request(gcm, "SM4-GCM", { Iv: flip(gcm.iv, 0) })), decryptFailure, "GCM IV");
    assert.equal(await cmcc(request(gcm, "AES-256-CBC")), decryptFailure, "an SM2 blob sent as AES");
    assert.equal(await cmcc(request(aes, "SM4-GCM")), decryptFailure, "an RSA blob sent as SM4");
    // a block that decrypts but is not PKCS#1 v1.5 padded (RSA-wrapped with no padding at all)
    const unpadded = publicEncrypt(
      { key: pems.rsa, padding: constants.RSA_NO_PADDING },
      Buffer.concat([Buffer.from([0, 1]), randomBytes(254)]),
    );
    assert.equal(await cmcc(request(aes, "AES-256-CBC", { CiphertextBlob: unpadded.toString("base64") })), decryptFailure, "padding");
    // wrong key sizes: a 16-byte AES key, a 32-byte SM4 key
    const shortAes = publicEncrypt({ key: pems.rsa, padding: constants.RSA_PKCS1_PADDING }, randomBytes(16)).toString("base64");
    const longSm4 = Buffer.from(`04${sm2.doEncrypt(new Uint8Array(32), sm2PointFromPem(pems.sm2)!, 1)}`, "hex").toString("base64");
    assert.equal(await cmcc(request({ ...aes, blob: shortAes }, "AES-256-CBC")), decryptFailure, "16-byte AES key");
    assert.equal(await cmcc(request({ ...gcm, blob: longSm4 }, "SM4-GCM")), decryptFailure, "32-byte SM4 key");
    // a field that is not base64, or whose padding is wrong
    assert.equal(await cmcc(request({ ...aes, values: { ...aes.values, Name: "not base64!" } }, "AES-256-CBC")), decryptFailure);
    assert.equal(
      await cmcc(request({ ...aes, values: { ...aes.values, Name: flip(aes.values.Name!, 15) } }, "AES-256-CBC")),
      decryptFailure,
    );
    // and on the flat fields of PhoneVerification
    const flat = { ...ZHANG, ...aes.values, CiphertextBlob: flip(aes.blob, 7), EncryptList: ["Phone", "Name"], Iv: aes.iv };
    assert.equal(await errorOf("PhoneVerification", flat), decryptFailure);
    assert.equal(await charged(), chargedBefore, "no failure is charged");
  });
});
