/**
 * The installation's key pairs for FaceID's public-key scheme (faceid-family.md §7.6): one RSA-2048 pair
 * (AES-256-CBC keys) and one SM2 pair (SM4-GCM keys), made at first use and kept sealed in the store's meta
 * rows, so every instance of a scale-out installation unwraps with the same keys.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { Keyring } from "../common/keyring";
import type { MetaRows } from "../store/ports";
import { storedFields } from "../common/stored-json";
import { unwrapRsaKey } from "./rsa-unwrap";
import { generateSm2KeyPair, sm2Decrypt, sm2PublicKeyPem } from "./sm2";

const META_KEY = "envelope-keys/v1";
const RSA_BITS = 2048;
const generateKeyPairAsync = promisify(generateKeyPair);

interface SealedPairs {
  /** sealed PKCS#8 PEM, base64 */
  rsa: string;
  /** sealed hex scalar ‖ ":" ‖ hex point, base64 */
  sm2: string;
}

/** The stored pairs, narrowed: a damaged row is one StoredDataError, never a field read as undefined. */
function storedPairs(text: string): SealedPairs {
  const f = storedFields(text, {
    what: "The installation's encryption key pairs (envelope-keys/v1)",
    fix: "Restore the store from a backup: callers encrypt to these keys, so new ones would not open their fields.",
  });
  return { rsa: f.string("rsa"), sm2: f.string("sm2") };
}

/** The public halves as Tencent's helpers embed theirs: base64 of the PEM text. */
export interface PublicKeys {
  rsa: string;
  sm2: string;
}

export class EnvelopeKeys {
  private readonly modulusBytes: number;

  private constructor(
    private readonly rsaPrivate: KeyObject,
    private readonly rsaRejectionKey: Buffer,
    private readonly sm2Private: string,
    readonly rsaPublicPem: string,
    readonly sm2PublicPem: string,
  ) {
    this.modulusBytes = RSA_BITS / 8;
  }

  /** Reads the sealed pairs, or makes them; instances racing at first start all keep the pair stored first. */
  static async open(meta: Pick<MetaRows, "get" | "setIfAbsent">, keyring: Keyring): Promise<EnvelopeKeys> {
    let stored = await meta.get(META_KEY);
    if (stored === undefined) stored = await meta.setIfAbsent(META_KEY, JSON.stringify(await freshPairs(keyring)));
    const sealed = storedPairs(stored);
    const rsaPem = keyring.open(Buffer.from(sealed.rsa, "base64"), `${META_KEY}/rsa`);
    const [sm2Private = "", sm2Public = ""] = keyring.open(Buffer.from(sealed.sm2, "base64"), `${META_KEY}/sm2`).split(":");
    const rsaPrivate = createPrivateKey(rsaPem);
    const rsaPublicPem = createPublicKey(rsaPrivate).export({ type: "pkcs1", format: "pem" }).toString();
    // The implicit-rejection key is secret and fixed per key pair (a fresh one per call would show in timing).
    const rejectionKey = createHash("sha256").update("sanyao/rsa-implicit-rejection/v1").update(rsaPem).digest();
    return new EnvelopeKeys(rsaPrivate, rejectionKey, sm2Private, rsaPublicPem, sm2PublicKeyPem(sm2Public));
  }

  publicKeys(): PublicKeys {
    return {
      rsa: Buffer.from(this.rsaPublicPem, "utf8").toString("base64"),
      sm2: Buffer.from(this.sm2PublicPem, "utf8").toString("base64"),
    };
  }

  /** The 32-byte key of an RSA-wrapped blob; a blob that is not one gives a key that decrypts nothing. */
  unwrapAesKey(blob: Buffer): Buffer {
    return unwrapRsaKey(this.rsaPrivate, this.modulusBytes, this.rsaRejectionKey, blob);
  }

  /** The key inside an SM2 ciphertext, or undefined when it is not one for this installation's key. */
  unwrapSm4Key(blob: Buffer): Buffer | undefined {
    return sm2Decrypt(this.sm2Private, blob);
  }
}

async function freshPairs(keyring: Keyring): Promise<SealedPairs> {
  const { privateKey } = await generateKeyPairAsync("rsa", { modulusLength: RSA_BITS, publicExponent: 65537 });
  const rsaPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const sm2 = generateSm2KeyPair();
  return {
    rsa: keyring.seal(rsaPem, `${META_KEY}/rsa`).toString("base64"),
    sm2: keyring.seal(`${sm2.privateKey}:${sm2.publicKey}`, `${META_KEY}/sm2`).toString("base64"),
  };
}
