/**
 * Encrypted request fields, in either scheme FaceID has (faceid-family.md §4, §7.4–7.9, §7.17):
 * - the legacy KMS envelope (kms-envelope.md §3.2), on PhoneVerification's flat fields only: the data key comes
 *   from KMS Decrypt as the calling account, which must have authorised it;
 * - the public-key envelope, on the flat fields and the `Encryption` object: a random key wrapped with the
 *   installation's RSA key (AES-256-CBC fields) or SM2 key (SM4-GCM fields, tags in TagList).
 * Every decryption failure gives the same code and message, so the answers cannot serve as an oracle; nothing
 * decrypted is ever logged.
 */
import { ApiError } from "../api3/errors";
import type { ParamSpec } from "../api3/params";
import type { EnvelopeKeys } from "../encryption/envelope-keys";
import { aesCbcDecrypt, sm4GcmDecrypt } from "../encryption/field-ciphers";
import type { KeyService } from "../kms/keys";
import { parseBlob } from "../kms/blob";
import type { Account } from "../store/model";

/** The `Encryption` request object (§4.1), as a parameter schema. */
export const ENCRYPTION_PARAM = {
  type: "Object",
  fields: {
    EncryptList: { type: "StringArray" },
    CiphertextBlob: { type: "String" },
    Iv: { type: "String" },
    Algorithm: { type: "String" },
    TagList: { type: "StringArray" },
  },
} as const satisfies ParamSpec;

/** The fields a three-element action lets a caller encrypt. */
export const THREE_FIELDS = ["IdCard", "Name", "Phone"] as const;
export type ThreeFields = Record<(typeof THREE_FIELDS)[number], string>;

export const ALGORITHMS = ["AES-256-CBC", "SM4-GCM"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface FieldEnvelope {
  CiphertextBlob?: string;
  EncryptList?: readonly string[];
  Iv?: string;
  Algorithm?: string;
  TagList?: readonly string[];
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const decryptFailure = () => new ApiError("FailedOperation.DecryptSystemError");

function strictBase64(text: string): Buffer | undefined {
  return STRICT_BASE64.test(text) ? Buffer.from(text, "base64") : undefined;
}

/** AES (§7.5): 16 UTF-8 bytes are the IV as they are; else strict base64 of exactly 16 bytes. */
export function decodeIv(iv: string): Buffer {
  const raw = Buffer.from(iv, "utf8");
  if (raw.length === 16) return raw;
  const decoded = strictBase64(iv);
  if (decoded?.length === 16) return decoded;
  throw new ApiError("InvalidParameterValue", "Iv must be 16 characters, or base64 of 16 bytes.");
}

/** SM4-GCM (§7.5, §7.17): base64 of 12 bytes first, then the raw bytes given; the tags decide. */
function gcmIvCandidates(iv: string): Buffer[] {
  const decoded = strictBase64(iv);
  const raw = Buffer.from(iv, "utf8");
  return decoded?.length === 12 ? [decoded, raw] : [raw];
}

const isOneOf = <F extends string>(allowed: readonly F[], name: string): name is F => (allowed as readonly string[]).includes(name);

export class FieldOpener {
  constructor(
    private readonly kms: KeyService,
    private readonly envelopeKeys: () => Promise<EnvelopeKeys>,
  ) {}

  /**
   * The values with the listed fields decrypted. `allowed` are the fields the action lets a caller encrypt;
   * `legacyKms`: the blob may also be a KMS one (PhoneVerification's flat fields).
   */
  async open<F extends string>(
    values: Readonly<Record<F, string>>,
    allowed: readonly F[],
    envelope: FieldEnvelope | undefined,
    account: Account,
    legacyKms = false,
  ): Promise<Readonly<Record<F, string>>> {
    const list = envelope?.EncryptList ?? [];
    // Most calls encrypt nothing: they get their own values back, uncopied.
    if (!envelope || list.length === 0) return values;
    const fields: F[] = [];
    for (const field of list) {
      if (!isOneOf(allowed, field)) throw new ApiError("InvalidParameter.UnsupportEncryptField");
      fields.push(field);
    }
    if (new Set(fields).size !== fields.length) throw new ApiError("InvalidParameter", "EncryptList names a field twice.");
    const plain: Record<F, string> = { ...values };
    const algorithm = envelope.Algorithm ?? "AES-256-CBC";
    if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new ApiError("InvalidParameterValue", `Algorithm must be one of ${ALGORITHMS.join(", ")}.`);
    }
    const { CiphertextBlob: blob, Iv: iv } = envelope;
    if (!blob || !iv) throw new ApiError("InvalidParameter", "EncryptList needs CiphertextBlob and Iv.");

    if (algorithm === "SM4-GCM") {
      if ((envelope.TagList ?? []).length !== fields.length) throw decryptFailure();
      const wrapped = strictBase64(blob);
      const key = wrapped && (await this.envelopeKeys()).unwrapSm4Key(wrapped);
      if (key?.length !== 16) throw decryptFailure();
      const tags = (envelope.TagList ?? []).map((tag) => strictBase64(tag) ?? Buffer.alloc(0));
      const data = fields.map((field) => strictBase64(plain[field]) ?? Buffer.alloc(0));
      for (const nonce of gcmIvCandidates(iv)) {
        const opened = fields.map((_, i) => sm4GcmDecrypt(key, nonce, data[i]!, tags[i]!));
        if (opened.every((text) => text !== undefined)) {
          fields.forEach((field, i) => {
            plain[field] = opened[i]!;
          });
          return plain;
        }
      }
      throw decryptFailure();
    }

    const ivBytes = decodeIv(iv);
    const key = await this.aesKey(blob, account, legacyKms);
    for (const field of fields) {
      const data = strictBase64(plain[field]);
      const text = data && aesCbcDecrypt(key, ivBytes, data);
      if (text === undefined) throw decryptFailure();
      plain[field] = text;
    }
    return plain;
  }

  /** The 32-byte AES key: from KMS for one of our KMS blobs (legacy), else unwrapped with the RSA key. */
  private async aesKey(blob: string, account: Account, legacyKms: boolean): Promise<Buffer> {
    if (legacyKms && parseBlob(blob)) {
      if (!account.kmsAuthorized) throw new ApiError("FailedOperation.StsUnAuthErrError");
      let dek: Buffer;
      try {
        dek = (await this.kms.decrypt(account.accountId, undefined, blob)).plaintext;
      } catch (err) {
        if (err instanceof ApiError) throw decryptFailure();
        throw err; // the store failed: an internal error, not the caller's blob
      }
      if (dek.length !== 32) throw decryptFailure();
      return dek;
    }
    const wrapped = strictBase64(blob);
    if (!wrapped) throw decryptFailure();
    return (await this.envelopeKeys()).unwrapAesKey(wrapped);
  }
}
