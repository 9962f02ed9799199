/**
 * Encrypted request fields, in either scheme FaceID has (faceid-family.md §4, §7.4–7.9, §7.17):
 * - the legacy KMS envelope (kms-envelope.md §3.2), on PhoneVerification's flat fields only: the data key comes
 *   from KMS Decrypt as the calling account, which must have authorised it;
 * - the public-key envelope, on the flat fields and the `Encryption` object: a random key wrapped with the
 *   installation's RSA key (AES-256-CBC fields) or SM2 key (SM4-GCM fields, tags in TagList).
 * AES-256-CBC has no integrity: with the IV the caller's, a padding that opens and one that does not, or a value
 * that opens well formed and one that does not, would tell a captured field's bytes one by one. So a CBC field that
 * does not open and one that opens to a value not well formed for it answer alike (the same code and message, the
 * same work: every field opened and judged), and every failure is counted against the SecretId's budget
 * (decrypt-budget.ts). That alone would leave an oracle: a probe whose flipped value stays well formed goes on to a
 * Result. So each ciphertext block opens under one predecessor only while its pin holds (cbc-pins.ts): a captured
 * field sent again after another IV answers as a failure, whatever it opens to. SM4-GCM is authenticated: its
 * failures answer alike too, and what opens is the caller's own. Nothing decrypted is ever logged.
 */
import type { ActionContext } from "../call/action";
import { ApiError } from "../api3/errors";
import type { Keyring } from "../common/keyring";
import type { ParamSpec } from "../api3/params";
import type { EnvelopeKeys } from "../encryption/envelope-keys";
import { aesCbcDecrypt, sm4GcmDecrypt } from "../encryption/field-ciphers";
import type { KeyService } from "../kms/keys";
import { parseBlob } from "../kms/blob";
import { INPUT_BOUNDS } from "../rules/input-bounds";
import type { Account } from "../store/model";
import type { BlockPin } from "../limits/contract";
import { cbcBlockPins, mergePins } from "./cbc-pins";
import type { DecryptFailureBudget } from "./decrypt-budget";
import type { FieldShape } from "./field-shapes";

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

/**
 * The longest envelope texts read, checked before they are decoded; each far past what a helper sends (§4.3): an
 * IV of 24 characters, a blob of 344 (RSA-2048) or some 140 (KMS), a field of the longest value a rule admits.
 */
const BOUNDS = { iv: 256, blob: 4096, field: 4096, tag: 64 } as const;

/**
 * The longest AES-256-CBC field that can open well formed: a value of the longest input a rule reads (UTF-16 code
 * units, at most 3 UTF-8 bytes each) and a whole block of padding. A longer one fails as it is, unopened and unpinned:
 * nothing it could open to would tell anything, and its blocks would only crowd out the pins that matter.
 */
const LONGEST_CBC_FIELD = 3 * Math.max(...Object.values(INPUT_BOUNDS)) + 16;

const decryptFailure = () => new ApiError("FailedOperation.DecryptSystemError");
const budgetSpent = () => new ApiError("FailedOperation.RequestLimitExceeded");

/** The bytes of strict base64 no longer than `max`; undefined otherwise. */
function strictBase64(text: string, max: number): Buffer | undefined {
  return text.length <= max && STRICT_BASE64.test(text) ? Buffer.from(text, "base64") : undefined;
}

/** AES (§7.5): 16 UTF-8 bytes are the IV as they are; else strict base64 of exactly 16 bytes. */
export function decodeIv(iv: string): Buffer {
  if (iv.length > BOUNDS.iv) throw new ApiError("InvalidParameterValue", "Iv must be 16 characters, or base64 of 16 bytes.");
  const raw = Buffer.from(iv, "utf8");
  if (raw.length === 16) return raw;
  const decoded = strictBase64(iv, BOUNDS.iv);
  if (decoded?.length === 16) return decoded;
  throw new ApiError("InvalidParameterValue", "Iv must be 16 characters, or base64 of 16 bytes.");
}

/** SM4-GCM (§7.5, §7.17): base64 of 12 bytes first, then the raw bytes given; the tags decide. */
function gcmIvCandidates(iv: string): Buffer[] {
  const decoded = strictBase64(iv, BOUNDS.iv);
  const raw = Buffer.from(iv, "utf8");
  return decoded?.length === 12 ? [decoded, raw] : [raw];
}

const isOneOf = <F extends string>(allowed: readonly F[], name: string): name is F => (allowed as readonly string[]).includes(name);

const isAlgorithm = (name: string): name is Algorithm => isOneOf(ALGORITHMS, name);

/** Who opens: the account (its KMS authorisation), the key whose failures are counted, and the server's time. */
export type Opener = Pick<ActionContext, "caller" | "now">;

export class FieldOpener {
  constructor(
    private readonly kms: KeyService,
    private readonly envelopeKeys: () => Promise<EnvelopeKeys>,
    private readonly wellFormed: FieldShape,
    private readonly budget: DecryptFailureBudget,
    private readonly keyring: Keyring,
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
    by: Opener,
    legacyKms = false,
  ): Promise<Readonly<Record<F, string>>> {
    const algorithm = envelope?.Algorithm ?? "AES-256-CBC";
    if (!isAlgorithm(algorithm)) throw new ApiError("InvalidParameterValue", `Algorithm must be one of ${ALGORITHMS.join(", ")}.`);
    const list = envelope?.EncryptList ?? [];
    // Most calls encrypt nothing: they get their own values back, uncopied.
    if (!envelope || list.length === 0) return values;
    const fields: F[] = [];
    for (const field of list) {
      if (!isOneOf(allowed, field)) throw new ApiError("InvalidParameter.UnsupportEncryptField");
      fields.push(field);
    }
    if (new Set(fields).size !== fields.length) throw new ApiError("InvalidParameter", "EncryptList names a field twice.");
    const { CiphertextBlob: blob, Iv: iv } = envelope;
    if (!blob || !iv) throw new ApiError("InvalidParameter", "EncryptList needs CiphertextBlob and Iv.");
    if (iv.length > BOUNDS.iv) throw new ApiError("InvalidParameterValue", `Iv is at most ${BOUNDS.iv} characters.`);
    const ivBytes = algorithm === "AES-256-CBC" ? decodeIv(iv) : undefined;

    const { secretId } = by.caller;
    if (this.budget.knownSpent(secretId, by.now)) throw budgetSpent();
    const { opened, pins } = ivBytes
      ? await this.openAes(values, fields, blob, ivBytes, account, by.now, legacyKms)
      : { opened: await this.openSm4(values, fields, blob, iv, envelope.TagList ?? []), pins: [] };
    // Judged only now, the count and the pins in one step; until then nothing was told of what opened.
    const verdict = await this.budget.verdict(secretId, by.now, opened !== undefined && pins !== undefined, pins ?? []);
    if (verdict === "refused") throw budgetSpent();
    if (verdict === "failed" || !opened) throw decryptFailure();
    return { ...values, ...opened };
  }

  /**
   * AES-256-CBC: every listed field opened and judged by its rule, whichever fails first, so that a bad padding,
   * bad UTF-8 and a value not well formed cost the same; `opened` undefined when any fails. The pins of every
   * block opened; undefined when the call itself sends one block after two predecessors (it fails, pinning none).
   */
  private async openAes<F extends string>(
    values: Readonly<Record<F, string>>,
    fields: readonly F[],
    blob: string,
    iv: Buffer,
    account: Account,
    nowMs: number,
    legacyKms: boolean,
  ): Promise<{ opened: Partial<Record<F, string>> | undefined; pins: BlockPin[] | undefined }> {
    const key = await this.aesKey(blob, account, legacyKms);
    if (!key) return { opened: undefined, pins: [] };
    const opened: Partial<Record<F, string>> = {};
    const pins: BlockPin[][] = [];
    let failed = false;
    for (const field of fields) {
      const b64 = strictBase64(values[field], BOUNDS.field);
      const data = b64 && b64.length <= LONGEST_CBC_FIELD ? b64 : undefined;
      if (data) pins.push(cbcBlockPins(this.keyring, key, iv, data));
      const text = data && aesCbcDecrypt(key, iv, data);
      if (text === undefined || !this.wellFormed(field, text, nowMs)) failed = true;
      else opened[field] = text;
    }
    return { opened: failed ? undefined : opened, pins: mergePins(pins) };
  }

  /** SM4-GCM: the tags decide, under the decoded IV and then the raw one; undefined when no IV opens every field. */
  private async openSm4<F extends string>(
    values: Readonly<Record<F, string>>,
    fields: readonly F[],
    blob: string,
    iv: string,
    tagList: readonly string[],
  ): Promise<Partial<Record<F, string>> | undefined> {
    if (tagList.length !== fields.length) return undefined;
    const wrapped = strictBase64(blob, BOUNDS.blob);
    const key = wrapped && (await this.envelopeKeys()).unwrapSm4Key(wrapped);
    if (key?.length !== 16) return undefined;
    const sealed = fields.map((field, i) => ({
      field,
      data: strictBase64(values[field], BOUNDS.field) ?? Buffer.alloc(0),
      tag: strictBase64(tagList[i] ?? "", BOUNDS.tag) ?? Buffer.alloc(0),
    }));
    for (const nonce of gcmIvCandidates(iv)) {
      const opened: Partial<Record<F, string>> = {};
      let failed = false;
      for (const { field, data, tag } of sealed) {
        const text = sm4GcmDecrypt(key, nonce, data, tag);
        if (text === undefined) failed = true;
        else opened[field] = text;
      }
      if (!failed) return opened;
    }
    return undefined;
  }

  /**
   * The 32-byte AES key: from KMS for one of our KMS blobs (legacy), else unwrapped with the RSA key; undefined
   * when the blob opens to none.
   */
  private async aesKey(blob: string, account: Account, legacyKms: boolean): Promise<Buffer | undefined> {
    if (legacyKms && parseBlob(blob)) {
      if (!account.kmsAuthorized) throw new ApiError("FailedOperation.StsUnAuthErrError");
      let dek: Buffer;
      try {
        dek = (await this.kms.decrypt(account.accountId, undefined, blob)).plaintext;
      } catch (err) {
        if (err instanceof ApiError) return undefined;
        throw err; // the store failed: an internal error, not the caller's blob
      }
      return dek.length === 32 ? dek : undefined;
    }
    const wrapped = strictBase64(blob, BOUNDS.blob);
    return wrapped && (await this.envelopeKeys()).unwrapAesKey(wrapped);
  }
}
