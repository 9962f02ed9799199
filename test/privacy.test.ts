/**
 * Every raw name, identity number and phone number the suite sends or imports here is searched for in everything
 * the store holds (the data directory's files; every row of every PostgreSQL table) and in the captured logs.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, it } from "node:test";
import { hashInputs } from "../src/client/faceid";
import { encryptRequestFields } from "../src/client/field-encryption";
import { hexDigest } from "../src/sources/digests";
import { verify, type Key } from "./helpers/call";
import { describeBackends, startTestServer, tempDir, type TestServer } from "./helpers/server";

const PEOPLE = [
  { phone: "13800001234", name: "张三", idcard: "110105199003072143" },
  { phone: "13900005678", name: "买买提·吐尔逊", idcard: "32010219881115306X" },
  { phone: "18600002468", name: "Wei Xiaobao", idcard: "440305200002295620" },
];
const PROBES = [
  { Phone: "13700007654", Name: "欧阳娜娜", IdCard: "370202198810093127" },
  { Phone: "1370000765", Name: "张3", IdCard: "110105199003072140" },
  { Phone: "13500009999", Name: "吴十", IdCard: "110108199502030043" },
];

describeBackends("no personal data at rest or in logs", (backend) => {
  let server: TestServer;
  let key: Key;
  let openedKeys: { rsaPem: string; sm2Private: string };
  /** what the operations API and the test-kit commands printed: scenarios, the request log, diagnoses */
  let testKitOutput = "";
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: "privacy-operator-token-000" }, backend);
    const account = await server.addAccount();
    key = account;
    // Scenarios matched on raw numbers (kept as keyed hashes), and a delay that changes no answer.
    for (const p of PEOPLE) {
      const added = await server.cli([
        "scenarios",
        "add",
        "--account",
        account.accountId,
        "--phone",
        p.phone,
        "--idcard",
        p.idcard,
        "--delay-ms",
        "1",
      ]);
      assert.equal(added.code, 0, added.stderr);
    }
    await server.addRecords([...PEOPLE, { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" }]);
    const csv = path.join(tempDir(), "import.csv");
    fs.writeFileSync(csv, "phone,name,idcard\n13600001111,司马光,420102198506124573\n13600002222,张3,110105199003072143\n");
    const res = await server.cli(["records", "import", csv]);
    assert.equal(res.code, 3, res.stderr); // the row with 张3 is rejected
    assert.doesNotMatch(res.stdout, /司马光|13600001111|420102198506124573/);
    for (const p of PEOPLE) {
      await verify(server.port, key, { Phone: p.phone, Name: p.name, IdCard: p.idcard, VerifyMode: "1" });
      await verify(server.port, key, { Phone: `+86 ${p.phone}`, Name: "别人", IdCard: p.idcard, VerifyMode: "1" });
    }
    for (const p of PROBES) await verify(server.port, key, p, { language: "zh-CN" });
    await verify(server.port, key, { ...PROBES[0], Extra: PROBES[0]!.Phone });
    // the rest of the family: plaintext, public-key encrypted and hashed inputs, and the new record columns
    const extra = path.join(tempDir(), "lines.csv");
    fs.writeFileSync(extra, "phone,name,idcard,line_status,network_since\n13600003333,诸葛亮,510104199208152233,suspended,2020-02-02\n");
    assert.equal((await server.cli(["records", "import", extra])).code, 0);
    const keys = JSON.parse((await server.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
    for (const p of [...PEOPLE, { phone: "13600003333", name: "诸葛亮", idcard: "510104199208152233" }]) {
      const three = { Phone: p.phone, Name: p.name, IdCard: p.idcard };
      await verify(server.port, key, three, { action: "PhoneVerificationCMCC" });
      await verify(
        server.port,
        key,
        encryptRequestFields(three, { algorithm: "SM4-GCM", publicKey: keys.sm2 }, ["Phone", "Name", "IdCard"]),
        {
          action: "PhoneVerificationCUCC",
        },
      );
      await verify(
        server.port,
        key,
        encryptRequestFields(three, { algorithm: "AES-256-CBC", publicKey: keys.rsa, form: "flat" }, ["Phone"]),
      );
      await verify(server.port, key, { Mobile: p.phone, Name: p.name }, { action: "CheckPhoneAndName" });
      await verify(server.port, key, { IdCard: p.idcard, Name: p.name }, { action: "IdCardVerification" });
      await verify(server.port, key, encryptRequestFields({ Mobile: p.phone }, { algorithm: "SM4-GCM", publicKey: keys.sm2 }, ["Mobile"]), {
        action: "MobileStatus",
      });
      await verify(server.port, key, { Mobile: p.phone }, { action: "MobileNetworkTimeVerification" });
      for (const mode of ["1", "2", "3"] as const) {
        await verify(server.port, key, { ...hashInputs(mode, three) }, { action: "EncryptedPhoneVerification" });
      }
      await verify(server.port, key, { ...three, EncryptionMode: "0" }, { action: "EncryptedPhoneVerification" });
    }
    // refused signatures, in TC3 GET (values in the query) and TC3 POST, then what the test kit shows of all this
    const ops = ["--endpoint", server.url, "--token", "privacy-operator-token-000", "--json"];
    const { faceidSdk } = await import("./helpers/sdk");
    for (const httpProfile of [{ reqMethod: "GET" }, {}]) {
      const wrong = faceidSdk(server.port, { secretId: key.secretId, secretKey: `${key.secretKey}\n` }, { httpProfile });
      const requestId = await wrong.PhoneVerification({ Phone: PEOPLE[0]!.phone, Name: PEOPLE[0]!.name, IdCard: PEOPLE[0]!.idcard }).then(
        () => assert.fail("accepted"),
        (err: { requestId: string }) => err.requestId,
      );
      testKitOutput += (await server.cli(["explain", requestId, ...ops])).stdout;
    }
    testKitOutput += (await server.cli(["requests", "--limit", "1000", ...ops])).stdout;
    testKitOutput += (await server.cli(["scenarios", "list", "--json"])).stdout;
    assert.match(testKitOutput, /trailing newline/);
    // read now: storedData() closes the embedded store to read its files
    const sealed = await server.installation.store.meta.get("envelope-keys/v1");
    assert.ok(sealed, "the key pairs were made");
    const { rsa, sm2 } = JSON.parse(sealed) as { rsa: string; sm2: string };
    openedKeys = {
      rsaPem: server.installation.keyring.open(Buffer.from(rsa, "base64"), "envelope-keys/v1/rsa"),
      sm2Private: server.installation.keyring.open(Buffer.from(sm2, "base64"), "envelope-keys/v1/sm2").split(":")[0]!,
    };
  });
  after(() => server.close());

  it("the suite really made its calls and logged them", () => {
    assert.ok(server.logs.length >= PEOPLE.length * 2 + PROBES.length + 1);
    assert.ok(
      server.logs.some((l) => l.includes("138****1234")),
      "masked phones are logged",
    );
  });

  const raw = [
    ...PEOPLE.flatMap((p) => [p.phone, p.name, p.idcard]),
    ...PROBES.flatMap((p) => [p.Phone, p.Name, p.IdCard]),
    "司马光",
    "13600001111",
    "420102198506124573",
    "别人",
    "诸葛亮",
    "13600003333",
    "510104199208152233",
  ];
  /** what a bare digest of each value looks like, as hex text and as bytes */
  const digests = raw.flatMap((v) =>
    (["md5", "sha256", "sm3"] as const).flatMap((a) => {
      const hex = hexDigest(a, v);
      return [Buffer.from(hex), Buffer.from(hex.toUpperCase()), Buffer.from(hex, "hex")];
    }),
  );

  it("no digest of a raw value is in the store or the logs (hashed inputs keep keyed hashes only)", async () => {
    const stored = await server.storedData();
    const logs = Buffer.from(server.logs.join("\n"));
    for (const d of digests) {
      assert.equal(stored.includes(d), false, `a digest (${d.toString("hex").slice(0, 12)}…) found in the store`);
      assert.equal(logs.includes(d), false, "a digest found in the logs");
    }
  });

  it("the envelope private keys are at rest sealed only", async () => {
    const { rsaPem, sm2Private } = openedKeys;
    assert.match(rsaPem, /BEGIN PRIVATE KEY/);
    const rsaDer = Buffer.from(rsaPem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    const stored = await server.storedData();
    assert.equal(stored.includes(Buffer.from("PRIVATE KEY")), false);
    assert.equal(stored.includes(rsaDer.subarray(40, 72)), false, "the RSA private key's bytes");
    assert.equal(stored.includes(Buffer.from(rsaPem.split("\n")[5]!)), false, "a line of the RSA PEM");
    assert.equal(stored.includes(Buffer.from(sm2Private)), false, "the SM2 scalar as hex");
    assert.equal(stored.includes(Buffer.from(sm2Private, "hex")), false, "the SM2 scalar's bytes");
  });

  it("none of the raw values is anywhere in the store (data directory files, or every PostgreSQL row)", async () => {
    const stored = await server.storedData();
    assert.ok(stored.length > 1000, "the store was read");
    for (const value of raw) assert.equal(stored.includes(Buffer.from(value)), false, `${value} found in the store`);
  });

  it("none of the raw values, nor a digest of one, is in what the test kit shows (scenarios, request log, diagnoses)", () => {
    assert.ok(testKitOutput.length > 1000);
    for (const value of raw) assert.equal(testKitOutput.includes(value), false, `${value} shown by the test kit`);
    for (const d of digests) assert.equal(testKitOutput.includes(d.toString("latin1")), false, "a digest shown by the test kit");
  });

  it("none of the raw values is in the logs", () => {
    const text = server.logs.join("\n");
    for (const value of raw) assert.equal(text.includes(value), false, `${value} found in the logs`);
  });
});
