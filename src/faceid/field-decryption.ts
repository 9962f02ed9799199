/**
 * Envelope-encrypted request fields (kms-envelope.md §3.2): the data key comes from KMS Decrypt as the calling
 * account; each listed field is AES-256-CBC with PKCS#7 under it. Every decryption failure gives the same code and
 * message, so the answers cannot serve as a padding oracle; nothing decrypted is ever logged.
 */
import { createDecipheriv } from "node:crypto";
import { ApiError } from "../api3/errors";
import type { KeyService } from "../kms/keys";
import type { Account } from "../store/model";

export const ENCRYPTABLE = ["IdCard", "Name", "Phone"] as const;
export type EncryptableField = (typeof ENCRYPTABLE)[number];
export type ThreeFields = Record<EncryptableField, string>;

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

export interface EncryptedRequest extends ThreeFields {
  CiphertextBlob?: string;
  EncryptList?: string[];
  Iv?: string;
}

/** §4: 16 UTF-8 bytes are the IV as they are; else strict base64 of exactly 16 bytes. */
export function decodeIv(iv: string): Buffer {
  const raw = Buffer.from(iv, "utf8");
  if (raw.length === 16) return raw;
  if (STRICT_BASE64.test(iv)) {
    const decoded = Buffer.from(iv, "base64");
    if (decoded.length === 16) return decoded;
  }
  throw new ApiError("InvalidParameterValue", "Iv must be 16 characters, or base64 of 16 bytes.");
}

const decryptFailure = () => new ApiError("FailedOperation.DecryptSystemError");

function decryptField(dek: Buffer, iv: Buffer, text: string): string {
  if (!STRICT_BASE64.test(text)) throw decryptFailure();
  const data = Buffer.from(text, "base64");
  if (data.length === 0 || data.length % 16 !== 0) throw decryptFailure();
  try {
    const decipher = createDecipheriv("aes-256-cbc", dek, iv); // verifies the PKCS#7 padding in final()
    return UTF8.decode(Buffer.concat([decipher.update(data), decipher.final()]));
  } catch {
    throw decryptFailure();
  }
}

/** The three elements in plaintext: as given when nothing is listed, else decrypted. */
export async function decryptFields(req: EncryptedRequest, account: Account, keys: KeyService): Promise<ThreeFields> {
  const plain = { IdCard: req.IdCard, Name: req.Name, Phone: req.Phone };
  const list = req.EncryptList ?? [];
  if (list.length === 0) return plain;
  for (const field of list) {
    if (!(ENCRYPTABLE as readonly string[]).includes(field)) throw new ApiError("InvalidParameter.UnsupportEncryptField");
  }
  if (new Set(list).size !== list.length) throw new ApiError("InvalidParameter", "EncryptList names a field twice.");
  if (!req.CiphertextBlob || !req.Iv) throw new ApiError("InvalidParameter", "EncryptList needs CiphertextBlob and Iv.");
  const iv = decodeIv(req.Iv);
  if (!account.kmsAuthorized) throw new ApiError("FailedOperation.StsUnAuthErrError");

  let dek: Buffer;
  try {
    dek = (await keys.decrypt(account.accountId, undefined, req.CiphertextBlob)).plaintext;
  } catch (err) {
    if (err instanceof ApiError) throw decryptFailure();
    throw err; // the store failed: an internal error, not the caller's blob
  }
  if (dek.length !== 32) throw decryptFailure();
  for (const field of list as EncryptableField[]) plain[field] = decryptField(dek, iv, plain[field]);
  return plain;
}
