/**
 * The caller's side of FaceID field encryption, both schemes:
 * - KMS (kms-envelope.md §3.1): a data key from KMS GenerateDataKey, a fresh 16-character Iv per request,
 *   AES-256-CBC/PKCS#7 of each chosen field, base64; the flat CiphertextBlob/EncryptList/Iv.
 * - public key (faceid-family.md §4.3), exactly as Tencent's helpers build it: a random key per request wrapped
 *   with the service's RSA key (PKCS#1 v1.5; 32-byte key, 16-byte IV, AES-256-CBC) or SM2 key (`04‖C1‖C3‖C2`;
 *   16-byte key, 12-byte IV, SM4-GCM with the tags in TagList), one IV for all fields, sent as base64.
 */
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes, randomInt } from "node:crypto";
import { aesCbcEncrypt, sm4GcmEncrypt } from "../encryption/field-ciphers";
import { sm2Encrypt, sm2PointFromPem } from "../encryption/sm2";

/** A field name some FaceID action lets a caller encrypt. */
export type EncryptableField = "IdCard" | "Name" | "Phone" | "Mobile";
const IV_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 16 ASCII characters from a CSPRNG: their UTF-8 bytes are the IV (the documented form). */
export function randomIv(): string {
  let iv = "";
  for (let i = 0; i < 16; i++) iv += IV_ALPHABET[randomInt(IV_ALPHABET.length)];
  return iv;
}

export function encryptField(dek: Buffer, iv: string | Buffer, plaintext: string): string {
  const ivBytes = typeof iv === "string" ? Buffer.from(iv, "utf8") : iv;
  const cipher = createCipheriv("aes-256-cbc", dek, ivBytes);
  return Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]).toString("base64");
}

export interface DataKey {
  /** base64 of the 32-byte data key, as KMS GenerateDataKey returns it in Plaintext */
  plaintext: string;
  ciphertextBlob: string;
}

/** The service's public key for one algorithm, as `sanyao encryption public-keys` prints it (or as PEM). */
export interface PublicKeyEncryption {
  algorithm: "AES-256-CBC" | "SM4-GCM";
  /** base64 of the PEM text, as Tencent's helpers embed their keys; a PEM text is taken too */
  publicKey: string;
  /**
   * "object" (default): the `Encryption` object of every action but PhoneVerification. "flat": PhoneVerification's
   * CiphertextBlob/EncryptList/Iv, which have no Algorithm and so carry AES-256-CBC only.
   */
  form?: "object" | "flat";
}

/** The `Encryption` request object. */
export interface EncryptionObject {
  EncryptList: EncryptableField[];
  CiphertextBlob: string;
  Iv: string;
  Algorithm: "AES-256-CBC" | "SM4-GCM";
  TagList: string[];
}

type Encryptable = Partial<Record<EncryptableField, string>>;
type FlatEnvelope = { CiphertextBlob: string; EncryptList: EncryptableField[]; Iv: string };

/**
 * Returns the request parameters with `fields` encrypted. With a KMS data key: CiphertextBlob, EncryptList and Iv
 * set (keep the data key in memory only; it may serve many requests, each with its own Iv). With a public key: a
 * fresh key and IV for this request, in `Encryption` (or the flat fields, for PhoneVerification).
 */
export function encryptRequestFields<T extends Encryptable>(
  params: T,
  dataKey: DataKey,
  fields: readonly EncryptableField[],
  iv?: string,
): T & FlatEnvelope;
export function encryptRequestFields<T extends Encryptable>(
  params: T,
  publicKey: PublicKeyEncryption & { form: "flat" },
  fields: readonly EncryptableField[],
): T & FlatEnvelope;
export function encryptRequestFields<T extends Encryptable>(
  params: T,
  publicKey: PublicKeyEncryption,
  fields: readonly EncryptableField[],
): T & { Encryption: EncryptionObject };
export function encryptRequestFields<T extends Encryptable>(
  params: T,
  key: DataKey | PublicKeyEncryption,
  fields: readonly EncryptableField[],
  iv: string = randomIv(),
): T & (FlatEnvelope | { Encryption: EncryptionObject }) {
  const values = (field: EncryptableField): string => {
    const value = params[field];
    if (typeof value !== "string") throw new Error(`${field} is not in the request.`);
    return value;
  };
  if ("ciphertextBlob" in key) {
    const dek = Buffer.from(key.plaintext, "base64");
    if (dek.length !== 32) throw new Error("The data key must be 32 bytes (KeySpec AES_256).");
    const out: T = { ...params };
    for (const field of fields) out[field] = encryptField(dek, iv, values(field)) as T[EncryptableField];
    return { ...out, CiphertextBlob: key.ciphertextBlob, EncryptList: [...fields], Iv: iv };
  }
  const sealed = sealWithPublicKey(key, fields.map(values));
  const out: T = { ...params };
  fields.forEach((field, i) => {
    out[field] = sealed.values[i] as T[EncryptableField];
  });
  if (key.form === "flat") {
    if (key.algorithm !== "AES-256-CBC") throw new Error("PhoneVerification's flat fields carry AES-256-CBC only.");
    return { ...out, CiphertextBlob: sealed.blob, EncryptList: [...fields], Iv: sealed.iv };
  }
  const Encryption: EncryptionObject = {
    EncryptList: [...fields],
    CiphertextBlob: sealed.blob,
    Iv: sealed.iv,
    Algorithm: key.algorithm,
    TagList: sealed.tags,
  };
  return { ...out, Encryption };
}

function pemOf(publicKey: string): string {
  const text = publicKey.includes("-----BEGIN") ? publicKey : Buffer.from(publicKey, "base64").toString("utf8");
  if (!text.includes("-----BEGIN")) throw new Error("The public key is neither a PEM text nor base64 of one.");
  return text;
}

function sealWithPublicKey(key: PublicKeyEncryption, plaintexts: readonly string[]) {
  const pem = pemOf(key.publicKey);
  if (key.algorithm === "AES-256-CBC") {
    const symmetric = randomBytes(32);
    const iv = randomBytes(16);
    const blob = publicEncrypt({ key: createPublicKey(pem), padding: constants.RSA_PKCS1_PADDING }, symmetric);
    return {
      blob: blob.toString("base64"),
      iv: iv.toString("base64"),
      values: plaintexts.map((text) => aesCbcEncrypt(symmetric, iv, text).toString("base64")),
      tags: [] as string[],
    };
  }
  const point = sm2PointFromPem(pem);
  if (!point) throw new Error("The SM2 public key must be an SPKI PEM with the SM2 curve.");
  const symmetric = randomBytes(16);
  const iv = randomBytes(12);
  const sealed = plaintexts.map((text) => sm4GcmEncrypt(symmetric, iv, text));
  return {
    blob: sm2Encrypt(point, symmetric).toString("base64"),
    iv: iv.toString("base64"),
    values: sealed.map((s) => s.data.toString("base64")),
    tags: sealed.map((s) => s.tag.toString("base64")),
  };
}
