/**
 * Can a caller tell a bad padding or a bad tag from a wrong key by the time the answer takes? (faceid-family.md
 * §7.7–7.8.) Sends, interleaved, N calls of each kind to an in-process server over a fresh data directory and
 * prints the median and quartiles of the round trip per kind. All failures must answer
 * FailedOperation.DecryptSystemError; the figures say whether their times differ.
 *
 *   npm run bench:decrypt -- [--tries 1000]
 */
import { constants, createCipheriv, publicEncrypt, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../src/app/config";
import { openInstallation } from "../src/app/installation";
import { startServer } from "../src/app/server";
import { TencentCloudError } from "../src/client/errors";
import { FaceIdClient } from "../src/client/faceid";
import { aesCbcEncrypt, sm4GcmEncrypt } from "../src/encryption/field-ciphers";
import { sm2Encrypt, sm2PointFromPem } from "../src/encryption/sm2";
import { importRows, rowsFrom } from "../src/sources/import";
import { loadRuleTables } from "../src/rules/tables";
import { defaultPolicy } from "../src/rules/policy";
import { chinaDate } from "../src/rules/precheck";

const PERSON = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

type Kind = { name: string; build(): Record<string, unknown>; expect: string };

async function main(): Promise<void> {
  const tries = argValue("--tries", 1000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-decrypt-"));
  // Thousands of failures under one key: the decryption-failure budget is set out of the way.
  const config = loadConfig(
    { dataDir, port: 0 },
    { SANYAO_RATE_LIMIT: "1000000", SANYAO_DAILY_CAP: "0", SANYAO_LOG_LEVEL: "silent", SANYAO_DECRYPT_FAILURE_LIMIT: "1000000" },
  );
  const installation = await openInstallation(config);
  const server = await startServer({ config, installation });
  const account = await installation.store.accounts.create("timing", config.accountDefaults);
  const key = await installation.store.apiKeys.create(account.accountId);
  await importRows(
    rowsFrom([{ phone: PERSON.Phone, name: PERSON.Name, idcard: PERSON.IdCard }]),
    installation.store.records,
    installation.keyring,
    {
      tables: loadRuleTables(),
      policy: defaultPolicy,
      todayChina: chinaDate(Date.now()),
    },
  );
  const keys = (await installation.envelopeKeys()).publicKeys();
  const rsaPem = Buffer.from(keys.rsa, "base64").toString();
  const sm2Point = sm2PointFromPem(Buffer.from(keys.sm2, "base64").toString())!;

  /** `name`: the text encrypted, or a block that opens to a bad padding */
  const aesRequest = (blob: Buffer, symmetric: Buffer, name: string | "bad padding" = PERSON.Name) => {
    const iv = randomBytes(16);
    const field =
      name === "bad padding"
        ? createCipheriv("aes-256-cbc", symmetric, iv).setAutoPadding(false).update(Buffer.alloc(16))
        : aesCbcEncrypt(symmetric, iv, name);
    return {
      ...PERSON,
      Name: field.toString("base64"),
      Encryption: { EncryptList: ["Name"], CiphertextBlob: blob.toString("base64"), Iv: iv.toString("base64"), Algorithm: "AES-256-CBC" },
    };
  };
  const gcmRequest = (blob: Buffer, symmetric: Buffer, tamperTag: boolean) => {
    const iv = randomBytes(12);
    const sealed = sm4GcmEncrypt(symmetric, iv, PERSON.Name);
    if (tamperTag) sealed.tag[0]! ^= 1;
    return {
      ...PERSON,
      Name: sealed.data.toString("base64"),
      Encryption: {
        EncryptList: ["Name"],
        CiphertextBlob: blob.toString("base64"),
        Iv: iv.toString("base64"),
        Algorithm: "SM4-GCM",
        TagList: [sealed.tag.toString("base64")],
      },
    };
  };
  const rsaWrap = (k: Buffer) => publicEncrypt({ key: rsaPem, padding: constants.RSA_PKCS1_PADDING }, k);
  const failure = "FailedOperation.DecryptSystemError";
  const kinds: Kind[] = [
    { name: "AES: good", expect: "0", build: () => ((k) => aesRequest(rsaWrap(k), k))(randomBytes(32)) },
    // the fields under one key, the blob wrapping another: well padded, wrong key
    { name: "AES: wrong key", expect: failure, build: () => aesRequest(rsaWrap(randomBytes(32)), randomBytes(32)) },
    {
      name: "AES: bad RSA padding",
      expect: failure,
      build: () =>
        aesRequest(
          publicEncrypt({ key: rsaPem, padding: constants.RSA_NO_PADDING }, Buffer.concat([Buffer.from([0, 1]), randomBytes(254)])),
          randomBytes(32),
        ),
    },
    // the right key: a field whose padding is bad, and one that opens to a value that is no name (faceid-family.md §7.7)
    { name: "AES: bad field padding", expect: failure, build: () => ((k) => aesRequest(rsaWrap(k), k, "bad padding"))(randomBytes(32)) },
    { name: "AES: malformed value", expect: failure, build: () => ((k) => aesRequest(rsaWrap(k), k, "张3"))(randomBytes(32)) },
    { name: "SM4: good", expect: "0", build: () => ((k) => gcmRequest(sm2Encrypt(sm2Point, k), k, false))(randomBytes(16)) },
    { name: "SM4: wrong key", expect: failure, build: () => gcmRequest(sm2Encrypt(sm2Point, randomBytes(16)), randomBytes(16), false) },
    { name: "SM4: bad tag", expect: failure, build: () => ((k) => gcmRequest(sm2Encrypt(sm2Point, k), k, true))(randomBytes(16)) },
  ];

  const client = new FaceIdClient({ credential: key, endpoint: server.url });
  const times = new Map<string, number[]>(kinds.map((k) => [k.name, []]));
  for (let round = 0; round < tries + 20; round++) {
    for (const kind of kinds) {
      const params = kind.build() as unknown as Parameters<FaceIdClient["carrierVerification"]>[1];
      const started = process.hrtime.bigint();
      let code: string;
      try {
        code = (await client.carrierVerification("PhoneVerificationCMCC", params)).Result;
      } catch (err) {
        if (!(err instanceof TencentCloudError)) throw err;
        code = err.code;
      }
      const us = Number(process.hrtime.bigint() - started) / 1000;
      if (code !== kind.expect) throw new Error(`${kind.name}: answered ${code}, expected ${kind.expect}`);
      if (round >= 20) times.get(kind.name)!.push(us); // the first rounds warm up
    }
  }
  client.close();
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });

  const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  console.log(`decryption timing: ${tries} calls per kind, interleaved, round trip on loopback (µs)`);
  console.log("kind                    p25     median  p75");
  for (const [name, list] of times) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(22)} ${q(sorted, 0.25).toFixed(0).padStart(7)} ${q(sorted, 0.5).toFixed(0).padStart(7)} ${q(sorted, 0.75).toFixed(0).padStart(7)}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
