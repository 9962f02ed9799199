/**
 * The two field ciphers of FaceID's public-key scheme (faceid-family.md §4.3): AES-256-CBC with PKCS#7 (Node's
 * own) and SM4-GCM with a 128-bit tag and empty AAD (sm-crypto-v2: Node 20's OpenSSL has no sm4-gcm). Values
 * travel as base64; the GCM tag travels apart, in TagList.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { sm4 } from "sm-crypto-v2";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The UTF-8 text, or undefined when the key, IV or padding is wrong. */
export function aesCbcDecrypt(key: Buffer, iv: Buffer, data: Buffer): string | undefined {
  if (data.length === 0 || data.length % 16 !== 0) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-cbc", key, iv); // final() checks the PKCS#7 padding
    return UTF8.decode(Buffer.concat([decipher.update(data), decipher.final()]));
  } catch {
    return undefined;
  }
}

export function aesCbcEncrypt(key: Buffer, iv: Buffer, text: string): Buffer {
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  return Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
}

/** The UTF-8 text, or undefined when the tag does not verify (wrong key, IV, ciphertext or tag). */
export function sm4GcmDecrypt(key: Buffer, iv: Buffer, data: Buffer, tag: Buffer): string | undefined {
  if (tag.length !== 16 || iv.length === 0) return undefined;
  try {
    const plain = sm4.decrypt(new Uint8Array(data), new Uint8Array(key), {
      mode: "gcm",
      iv: new Uint8Array(iv),
      tag: new Uint8Array(tag),
      padding: "none",
      output: "array",
    });
    return UTF8.decode(plain);
  } catch {
    return undefined;
  }
}

export function sm4GcmEncrypt(key: Buffer, iv: Buffer, text: string): { data: Buffer; tag: Buffer } {
  const sealed = sm4.encrypt(new Uint8Array(Buffer.from(text, "utf8")), new Uint8Array(key), {
    mode: "gcm",
    iv: new Uint8Array(iv),
    padding: "none",
    output: "array",
    outputTag: true,
  });
  if (!sealed.tag) throw new Error("sm4-gcm gave no tag");
  return { data: Buffer.from(sealed.output), tag: Buffer.from(sealed.tag) };
}
