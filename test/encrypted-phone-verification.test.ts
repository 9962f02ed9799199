/**
 * EncryptedPhoneVerification (faceid-family.md §3.3, §7.3, §7.16) through the official Node SDK in TC3 POST,
 * TC3 GET and v1 HmacSHA256: every Result of its table with the table's charge, each EncryptionMode in upper-
 * and lower-case hex answering as the plaintext does, the reference digests, and no digest at rest.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ENCRYPTED_RESULTS } from "../src/faceid/results";
import { type DigestAlgorithm, hexDigest } from "../src/sources/digests";
import { faceidSdk, SIGNING_MODES } from "./helpers/sdk";
import { describeBackends, fixtures, startTestServer, type TestServer } from "./helpers/server";

interface DigestVector {
  value: string;
  md5: string;
  sha256?: string;
  sm3?: string;
}
const DIGESTS = (JSON.parse(fs.readFileSync(path.join(fixtures, "public-key-vectors.json"), "utf8")) as { digests: DigestVector[] })
  .digests;

describe("digests of hashed inputs", () => {
  it("MD5, SHA-256 and SM3 of the UTF-8 value, lower-case hex, as in Tencent's example (§3.3)", () => {
    for (const v of DIGESTS) {
      for (const algorithm of ["md5", "sha256", "sm3"] as const) {
        const expected = v[algorithm];
        if (expected) assert.equal(hexDigest(algorithm, v.value), expected, `${algorithm} ${v.value}`);
      }
    }
  });
});

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "32010219881115306X" };
const MODES: ReadonlyArray<[string, DigestAlgorithm]> = [
  ["1", "md5"],
  ["2", "sha256"],
  ["3", "sm3"],
];
const hashed = (algorithm: DigestAlgorithm, p: { Phone: string; Name: string; IdCard: string }, upper = false) => {
  const h = (v: string) => (upper ? hexDigest(algorithm, v).toUpperCase() : hexDigest(algorithm, v));
  return { Phone: h(p.Phone), Name: h(p.Name), IdCard: h(p.IdCard) };
};

describeBackends("EncryptedPhoneVerification", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("hashed");
    // the ID on record with a lower-case x: its digest is of the normalised, upper-case form
    await server.addRecords([
      { phone: ZHANG.Phone, name: ZHANG.Name, idcard: "32010219881115306x", isp: "telecom" },
      { phone: "13600007777", name: "周九", idcard: "420102198506124573", status: "suspended" },
      { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" },
    ]);
  });
  after(() => server.close());

  const modes = SIGNING_MODES;
  const client = (profile: Record<string, unknown> = {}, httpProfile: Record<string, unknown> = {}) =>
    faceidSdk(server.port, key, { profile, httpProfile, language: "zh-CN" });
  const charged = async () =>
    (await server.installation.store.ledger.usage({ accountId: key.accountId })).reduce((n, r) => n + r.charged, 0);

  it("every Result of the table, in each signing mode and EncryptionMode, with the table's description and charge", async () => {
    const cases: Array<[string, string, Record<string, string>]> = [
      ["0", "1", hashed("md5", ZHANG)],
      ["-4", "2", hashed("sha256", { ...ZHANG, Name: "李四" })],
      ["-4", "3", hashed("sm3", { Phone: "13600007777", Name: "周九", IdCard: "420102198506124573" })],
      ["-7", "0", { ...ZHANG, IdCard: "320102198811153060" }],
      ["-8", "0", { ...ZHANG, Phone: "1380000123" }],
      ["-8", "0", { ...ZHANG, Name: "张3" }],
      ["-8", "0", { ...ZHANG, Phone: "14000001234" }], // an IoT segment: this table has no -13
      ["-8", "1", { ...hashed("md5", ZHANG), Phone: "not-a-digest" }],
      ["-8", "2", hashed("md5", ZHANG)], // an MD5 where SHA-256 is due
      ["-9", "1", hashed("md5", { ...ZHANG, Phone: "13900001111" })],
      ["-11", "1", hashed("md5", { Phone: "13500009999", Name: "吴十", IdCard: "110108199502030043" })],
    ];
    assert.deepEqual(new Set(cases.map(([r]) => r)), new Set(Object.keys(ENCRYPTED_RESULTS)), "every Result is exercised");
    const before = await charged();
    let expected = 0;
    for (const [name, profile, httpProfile] of modes) {
      const sdk = client(profile, httpProfile);
      for (const [result, mode, params] of cases) {
        const res = await sdk.EncryptedPhoneVerification({ ...params, EncryptionMode: mode });
        assert.deepEqual(Object.keys(res), ["Result", "Description", "ISP", "RequestId"], name);
        assert.equal(res.Result, result, `${name} mode ${mode}: ${result}`);
        assert.equal(res.Description, ENCRYPTED_RESULTS[result as keyof typeof ENCRYPTED_RESULTS].zh);
        if (result === "0") assert.equal(res.ISP, "电信", "the record's carrier");
        if (result === "-4" && mode === "3") assert.equal(res.ISP, "移动", "a record imported without isp: its segment's carrier");
        if (ENCRYPTED_RESULTS[result as keyof typeof ENCRYPTED_RESULTS].charged) expected++;
      }
    }
    assert.equal((await charged()) - before, expected, "ledger rows = charged answers");
  });

  it("each mode in lower- and upper-case hex answers as the plaintext does, the ID's x in either case", async () => {
    const sdk = client();
    const strip = (r: Record<string, unknown>) => ({ ...r, RequestId: "" });
    for (const person of [ZHANG, { ...ZHANG, Name: "王五" }]) {
      const plain = strip(await sdk.EncryptedPhoneVerification({ ...person, IdCard: person.IdCard.toLowerCase(), EncryptionMode: "0" }));
      for (const [mode, algorithm] of MODES) {
        for (const upper of [false, true]) {
          const res = await sdk.EncryptedPhoneVerification({ ...hashed(algorithm, person, upper), EncryptionMode: mode });
          assert.deepEqual(strip(res), plain, `${person.Name} mode ${mode} upper=${upper}`);
        }
      }
    }
  });

  it("an unknown EncryptionMode is InvalidParameterValue; a missing one MissingParameter", async () => {
    const sdk = client();
    const code = async (params: Record<string, unknown>) => {
      try {
        await sdk.EncryptedPhoneVerification(params);
        return "no error";
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    assert.equal(await code({ ...hashed("md5", ZHANG), EncryptionMode: "4" }), "InvalidParameterValue");
    assert.equal(await code({ ...hashed("md5", ZHANG), EncryptionMode: "constructor" }), "InvalidParameterValue");
    assert.equal(await code({ ...hashed("md5", ZHANG) }), "MissingParameter");
  });

  it("no digest is at rest: only keyed hashes of them", async () => {
    const stored = await server.storedData();
    for (const [, algorithm] of MODES) {
      for (const value of [ZHANG.Phone, ZHANG.Name, ZHANG.IdCard]) {
        const hex = hexDigest(algorithm, value);
        assert.equal(stored.includes(hex), false, `${algorithm} hex of a value`);
        assert.equal(stored.includes(Buffer.from(hex, "hex")), false, `${algorithm} bytes of a value`);
      }
    }
  });
});
