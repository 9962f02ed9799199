/**
 * SM2 public-key encryption as Tencent's helpers put it on the wire (faceid-family.md §4.3): the raw
 * `04 ‖ C1 ‖ C3 ‖ C2`, not DER. Node 20 has SM2 keys but not SM2 encryption, so the cipher is sm-crypto-v2's
 * (built on @noble/curves), checked against our own round trips and Node's SPKI parser in the tests.
 */
import { sm2 } from "sm-crypto-v2";

const C1C3C2 = 1;
// SubjectPublicKeyInfo: id-ecPublicKey (1.2.840.10045.2.1) with the SM2 curve (1.2.156.10197.1.301), then the point.
const SPKI_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a811ccf5501822d034200", "hex");

export interface Sm2KeyPair {
  /** 32-byte scalar, hex */
  privateKey: string;
  /** uncompressed point 04‖X‖Y, hex */
  publicKey: string;
}

export function generateSm2KeyPair(): Sm2KeyPair {
  const { privateKey, publicKey } = sm2.generateKeyPairHex();
  return { privateKey, publicKey };
}

/** The SPKI PEM of an uncompressed SM2 point, as the helpers embed it. */
export function sm2PublicKeyPem(publicKeyHex: string): string {
  const der = Buffer.concat([SPKI_PREFIX, Buffer.from(publicKeyHex, "hex")]);
  const body = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN PUBLIC KEY-----\n${body}-----END PUBLIC KEY-----\n`;
}

/** The uncompressed point inside an SM2 SPKI PEM, or undefined when it is not one. */
export function sm2PointFromPem(pem: string): string | undefined {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  if (der.length !== SPKI_PREFIX.length + 65 || !der.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)) return undefined;
  return der.subarray(SPKI_PREFIX.length).toString("hex");
}

/** `04 ‖ C1 ‖ C3 ‖ C2` of the message. */
export function sm2Encrypt(publicKeyHex: string, message: Uint8Array): Buffer {
  return Buffer.from(`04${sm2.doEncrypt(message, publicKeyHex, C1C3C2)}`, "hex");
}

/** The message, or undefined when the ciphertext is not one for this key (with or without the leading 04). */
export function sm2Decrypt(privateKeyHex: string, ciphertext: Buffer): Buffer | undefined {
  const body = ciphertext.length % 2 === 1 && ciphertext[0] === 0x04 ? ciphertext.subarray(1) : ciphertext;
  if (body.length <= 96) return undefined;
  try {
    const message = sm2.doDecrypt(body.toString("hex"), privateKeyHex, C1C3C2, { output: "array" });
    return message.length === 0 ? undefined : Buffer.from(message);
  } catch {
    return undefined; // C1 not on the curve
  }
}
