/**
 * RSA PKCS#1 v1.5 key unwrapping without a padding oracle (faceid-family.md §7.8). Node 20 refuses PKCS#1 v1.5
 * private decryption (the Marvin mitigation), so the block is decrypted raw and unpadded here in constant time,
 * with implicit rejection: a block that is not `00 02 PS(nonzero) 00 M` with a 32-byte M yields a key derived from
 * the ciphertext instead, which then fails like any wrong key does — one path, one answer, one timing.
 */
import { constants, createHmac, privateDecrypt, type KeyObject } from "node:crypto";

export const WRAPPED_KEY_BYTES = 32;

/** 0xff when the byte is zero, else 0x00, without a branch on the byte. */
const zeroMask = (byte: number): number => ((byte - 1) >> 8) & 0xff;

export function unpadPkcs1Constant(em: Buffer, rejectionKey: Buffer, ciphertext: Buffer): Buffer {
  const k = em.length;
  const separator = k - WRAPPED_KEY_BYTES - 1;
  // readUInt8, not em[i]: every index is in range (em is one modulus long), and a read past it throws
  let bad = em.readUInt8(0) | (em.readUInt8(1) ^ 0x02) | (~zeroMask(em.readUInt8(separator)) & 0xff);
  for (let i = 2; i < separator; i++) bad |= zeroMask(em.readUInt8(i));
  const synthetic = createHmac("sha256", rejectionKey).update(ciphertext).digest();
  const pick = (-bad >> 31) & 0xff; // 0xff when any check failed
  const out = Buffer.alloc(WRAPPED_KEY_BYTES);
  for (let i = 0; i < WRAPPED_KEY_BYTES; i++) {
    out[i] = (em.readUInt8(separator + 1 + i) & ~pick) | (synthetic.readUInt8(i) & pick);
  }
  return out;
}

/** The 32-byte key inside one RSA block; a malformed block gives a key that decrypts nothing. */
export function unwrapRsaKey(privateKey: KeyObject, modulusBytes: number, rejectionKey: Buffer, block: Buffer): Buffer {
  if (block.length !== modulusBytes) return createHmac("sha256", rejectionKey).update(block).digest();
  let em: Buffer;
  try {
    em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, block);
  } catch {
    // a block not below the modulus: public knowledge, no oracle in refusing it
    return createHmac("sha256", rejectionKey).update(block).digest();
  }
  return unpadPkcs1Constant(em, rejectionKey, block);
}
