/**
 * The installation secret and what is derived from it: the keyed hash that protects subscriber records at
 * rest, and the key that seals API secret keys in the store. Every instance of one installation must share it.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { KeyedHasher } from "./keyed-hasher";

export const SECRET_FILE = "secret";

export function secretPath(dataDir: string): string {
  return path.join(dataDir, SECRET_FILE);
}

export function parseSecret(text: string, where: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`${where} must hold 64 hex characters (32 bytes).`);
  return Buffer.from(hex, "hex");
}

/** Writes a new secret to `file` (mode 0600), never over an existing one. */
export function createSecretFile(file: string): void {
  fs.writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
}

/** Reads data/secret, creating it (mode 0600) on first start. */
/** The data directory holds an installation (its secret file). */
export function hasInstallation(dataDir: string): boolean {
  return fs.existsSync(secretPath(dataDir));
}

export function loadOrCreateSecret(dataDir: string): { secret: Buffer; created: boolean } {
  const file = secretPath(dataDir);
  try {
    return { secret: parseSecret(fs.readFileSync(file, "utf8"), file), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  // "wx": never overwrite a secret another process created in the meantime.
  try {
    fs.writeFileSync(file, `${secret.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return loadOrCreateSecret(dataDir);
    throw err;
  }
  return { secret, created: true };
}

/** what a keyed hash is of: a normalised value, or (hashed inputs) a digest of one */
export type HashedField =
  | "phone"
  | "name"
  | "idcard"
  | "phone-digest"
  | "pair-digest"
  | "name-digest"
  | "idcard-digest"
  | "diagnostics"
  | "cache";
/** what a keyed hash of bytes is of: an AES-CBC ciphertext block under its data key */
export type HashedBytes = "cbc-block";

/** What a keyed hash of a field is taken of: the field, a NUL, the value (so equal values of two fields differ). */
export const keyedHashInput = (field: HashedField, value: string): string => `${field}\u0000${value}`;

export class Keyring {
  private readonly hashKey: Buffer;
  private readonly sealKey: Buffer;
  /** `hash`'s HMAC with the key's blocks padded once (the request path takes a few a call) */
  private readonly hasher: KeyedHasher;

  constructor(secret: Buffer) {
    this.hashKey = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "sanyao/records-hash/v1", 32));
    this.sealKey = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "sanyao/seal/v1", 32));
    this.hasher = new KeyedHasher(this.hashKey);
  }

  // One request hashes the same phone and identity number for the daily caps and for the record lookup:
  // a few recent results are kept (in memory only) so each is computed once.
  private readonly recent = new Map<string, Buffer>();

  /** HMAC-SHA256 of a normalised value, separated by field so equal strings in different fields differ. */
  hash(field: HashedField, normalised: string): Buffer {
    const input = keyedHashInput(field, normalised);
    let digest = this.recent.get(input);
    if (!digest) {
      digest = this.hasher.hmac(input);
      if (this.recent.size >= 64) {
        const oldest = this.recent.keys().next();
        if (!oldest.done) this.recent.delete(oldest.value);
      }
      this.recent.set(input, digest);
    }
    return digest;
  }

  /**
   * The key of `hash`, for the worker threads of a records import in this process (common/keyed-hasher.ts): it
   * never leaves the process, and the seal key never leaves the keyring.
   */
  hashKeyForImport(): Buffer {
    return Buffer.from(this.hashKey);
  }

  /** HMAC-SHA256 of byte strings, each length-prefixed, separated by purpose; never cached (a part may be a key). */
  hashBytes(purpose: HashedBytes, parts: readonly Uint8Array[]): Buffer {
    const hmac = createHmac("sha256", this.hashKey).update(`${purpose}\u0000`);
    for (const part of parts) {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(part.length);
      hmac.update(length).update(part);
    }
    return hmac.digest();
  }

  /** AES-256-GCM; `context` binds the ciphertext to its owner (e.g. the SecretId). */
  seal(plaintext: string, context: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.sealKey, iv).setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  // Sealed values read on every request (API SecretKeys, KMS key material) are opened once per sealed value.
  private readonly opened = new Map<string, { sealed: Buffer; plaintext: string }>();

  open(sealed: Buffer, context: string): string {
    const hit = this.opened.get(context);
    if (hit?.sealed.equals(sealed)) return hit.plaintext;
    const plaintext = this.openUncached(sealed, context);
    if (this.opened.size >= 10_000) this.opened.clear();
    this.opened.set(context, { sealed: Buffer.from(sealed), plaintext });
    return plaintext;
  }

  private openUncached(sealed: Buffer, context: string): string {
    const decipher = createDecipheriv("aes-256-gcm", this.sealKey, sealed.subarray(0, 12)).setAAD(Buffer.from(context));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString("utf8");
  }
}
