/**
 * Our CiphertextBlob (kms-envelope.md §6): self-identifying (Decrypt has no KeyId), authenticated, and bound to
 * the owning account, the region and the EncryptionContext through the GCM additional data.
 *   "TKB1" | u8 len(keyId) | keyId | 12-byte nonce | AES-256-GCM ciphertext | 16-byte tag
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const MAGIC = Buffer.from("TKB1");

export interface BlobBinding {
  keyId: string;
  accountId: string;
  region: string;
  encryptionContext: string;
}

function additionalData(b: BlobBinding): Buffer {
  const contextHash = createHash("sha256").update(b.encryptionContext, "utf8").digest();
  return Buffer.concat([MAGIC, Buffer.from(b.keyId), Buffer.from(b.accountId), Buffer.from(b.region), contextHash]);
}

export function sealBlob(material: Buffer, binding: BlobBinding, plaintext: Buffer): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", material, nonce).setAAD(additionalData(binding));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const keyId = Buffer.from(binding.keyId);
  return Buffer.concat([MAGIC, Buffer.from([keyId.length]), keyId, nonce, body, cipher.getAuthTag()]).toString("base64");
}

export interface ParsedBlob {
  keyId: string;
  nonce: Buffer;
  body: Buffer;
  tag: Buffer;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The longest blob text read, checked before it is decoded: a blob of Encrypt's 4 KiB plaintext is some 5.6 K. */
const MAX_BLOB_TEXT = 8192;

/** undefined when the text is not one of our blobs at all */
export function parseBlob(text: string): ParsedBlob | undefined {
  if (text.length > MAX_BLOB_TEXT || !STRICT_BASE64.test(text)) return undefined;
  const raw = Buffer.from(text, "base64");
  if (raw.length < 4 + 1 + 1 + 12 + 16 || !raw.subarray(0, 4).equals(MAGIC)) return undefined;
  const idLength = raw.readUInt8(4);
  const keyId = raw.subarray(5, 5 + idLength).toString("latin1");
  const rest = raw.subarray(5 + idLength);
  if (idLength === 0 || !/^[0-9a-f-]+$/.test(keyId) || rest.length < 12 + 16) return undefined;
  return { keyId, nonce: rest.subarray(0, 12), body: rest.subarray(12, rest.length - 16), tag: rest.subarray(rest.length - 16) };
}

/** undefined when the tag does not verify: wrong account, region or context, or tampering */
export function openBlob(material: Buffer, binding: BlobBinding, blob: ParsedBlob): Buffer | undefined {
  try {
    const decipher = createDecipheriv("aes-256-gcm", material, blob.nonce).setAAD(additionalData(binding));
    decipher.setAuthTag(blob.tag);
    return Buffer.concat([decipher.update(blob.body), decipher.final()]);
  } catch {
    return undefined;
  }
}
