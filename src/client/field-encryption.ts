/**
 * The caller's side of FaceID field encryption (kms-envelope.md §3.1): a data key from KMS GenerateDataKey,
 * a fresh 16-character Iv per request, AES-256-CBC/PKCS#7 of each chosen field, base64.
 */
import { createCipheriv, randomInt } from "node:crypto";

export type EncryptableField = "IdCard" | "Name" | "Phone";
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

/**
 * Returns the request parameters with `fields` encrypted and CiphertextBlob, EncryptList and Iv set.
 * Keep the data key in memory only; it may serve many requests, each with its own Iv.
 */
export function encryptRequestFields<T extends Partial<Record<EncryptableField, string>>>(
  params: T,
  dataKey: DataKey,
  fields: readonly EncryptableField[],
  iv: string = randomIv(),
): T & { CiphertextBlob: string; EncryptList: EncryptableField[]; Iv: string } {
  const dek = Buffer.from(dataKey.plaintext, "base64");
  if (dek.length !== 32) throw new Error("The data key must be 32 bytes (KeySpec AES_256).");
  const out: Record<string, unknown> = { ...params };
  for (const field of fields) {
    const value = params[field];
    if (typeof value !== "string") throw new Error(`${field} is not in the request.`);
    out[field] = encryptField(dek, iv, value);
  }
  return { ...(out as T), CiphertextBlob: dataKey.ciphertextBlob, EncryptList: [...fields], Iv: iv };
}
