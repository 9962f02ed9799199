/**
 * Hashed inputs (EncryptedPhoneVerification, faceid-family.md §3.3, §7.3): a caller sends hex MD5, SHA-256 or
 * SM3 digests of the normalised UTF-8 values. A bare digest of a phone number is reversible by enumeration, so
 * records keep only keyed hashes of digests: per mode, one of the phone's digest (the lookup key) and one of the
 * name's and identity number's digests together (the comparison); the md5 row also one of the name's digest alone
 * (Cloudauth's Mobile2MetaVerify compares a number and a name). All are cut to 16 bytes: keyed, so 128 bits stay
 * collision-free at any record count, and a few per record stay small.
 */
import { createHash } from "node:crypto";
import type { Keyring } from "../common/keyring";
import type { RecordDigest } from "../store/model";

export const DIGEST_ALGORITHMS = ["md5", "sha256", "sm3"] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** hex characters of each algorithm's digest */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { md5: 32, sha256: 64, sm3: 64 };

const KEYED_BYTES = 16;

export function hexDigest(algorithm: DigestAlgorithm, value: string): string {
  return createHash(algorithm).update(value, "utf8").digest("hex");
}

/** The lookup key of a phone number's digest (lower-case hex). */
export function digestKey(keyring: Keyring, algorithm: DigestAlgorithm, phoneHex: string): Buffer {
  return keyring.hash("phone-digest", `${algorithm}:${phoneHex}`).subarray(0, KEYED_BYTES);
}

/** The comparison value of a name's and an identity number's digests (lower-case hex). */
export function digestPair(keyring: Keyring, algorithm: DigestAlgorithm, nameHex: string, idCardHex: string): Buffer {
  return keyring.hash("pair-digest", `${algorithm}:${nameHex}:${idCardHex}`).subarray(0, KEYED_BYTES);
}

/** The one algorithm whose digest row also keeps the name's digest alone (Cloudauth's Mobile2MetaVerify, md5 mode). */
export const NAME_DIGEST_ALGORITHM = "md5" satisfies DigestAlgorithm;

/** The comparison value of a name's digest alone (lower-case hex), kept on the md5 digest row. */
export function digestName(keyring: Keyring, nameHex: string): Buffer {
  return keyring.hash("name-digest", `${NAME_DIGEST_ALGORITHM}:${nameHex}`).subarray(0, KEYED_BYTES);
}

/** A record's digest keys, one per algorithm, from its normalised values. */
export function recordDigests(keyring: Keyring, phone: string, name: string, idCard: string): RecordDigest[] {
  return DIGEST_ALGORITHMS.map((algorithm) => {
    const nameHex = hexDigest(algorithm, name);
    return {
      key: digestKey(keyring, algorithm, hexDigest(algorithm, phone)),
      pair: digestPair(keyring, algorithm, nameHex, hexDigest(algorithm, idCard)),
      ...(algorithm === NAME_DIGEST_ALGORITHM && { name: digestName(keyring, nameHex) }),
    };
  });
}
