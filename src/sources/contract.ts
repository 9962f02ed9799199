/**
 * A verification source answers for well-formed, normalised elements (three, or a number and a name). A throw means -11: UnavailableError
 * ("source") for a source that says it is busy, any other for one that failed.
 */
import type { Carrier } from "../rules/tables";
import type { LineStatus } from "../store/model";
import type { DigestAlgorithm } from "./digests";

export type ResultDetail = "PhoneIdCardMismatch" | "PhoneNameMismatch" | "PhoneNameIdCardMismatch" | "NameIdCardMismatch" | "OtherMismatch";

export interface NormalisedElements {
  /** 11-digit national number */
  phone: string;
  /** normalised name (rules/name.ts) */
  name: string;
  /** 18-character identity number, upper-case X */
  idCard: string;
}

export type SourceAnswer =
  | { kind: "no-record" }
  /** carrier from the record when it has one: after number portability it beats the segment table */
  | { kind: "consistent"; carrier: Carrier }
  | { kind: "inconsistent"; detail: ResultDetail; carrier: Carrier };

/** Two elements, a number and a name (CheckPhoneAndName): whether the number's holder has that name. */
export type PhoneAndNameAnswer = { kind: "no-record" } | { kind: "consistent" } | { kind: "inconsistent" };

/** Two elements, an identity number and a name (IdCardVerification). */
export type IdCardAndNameAnswer = { kind: "no-record" } | { kind: "consistent" } | { kind: "inconsistent" };

/** One number's line (MobileStatus, MobileNetworkTimeVerification): on record or not, and what is known of it. */
export type NumberAnswer = { kind: "no-record" } | { kind: "on-record"; lineStatus?: LineStatus; networkSince?: string };
/** The same, found by a digest of the number: with the keys its caps count under (nothing else names it). */
export type NumberDigestAnswer =
  | { kind: "no-record" }
  | { kind: "on-record"; lineStatus?: LineStatus; networkSince?: string; phoneHash: Buffer };

/** Hashed inputs (EncryptedPhoneVerification): lower-case hex digests of the normalised values. */
export interface DigestElements {
  algorithm: DigestAlgorithm;
  phoneHex: string;
  nameHex: string;
  idCardHex: string;
}

/**
 * A record found by a digest, named by its keyed hashes (keyring.hash "phone" and "idcard", as stored): what a daily
 * cap counts under, when the call itself names neither value.
 */
export interface RecordKeys {
  phoneHash: Buffer;
  idCardHash: Buffer;
}

/** The number's record (by its digest), and whether the name's and identity number's digests are its holder's. */
export type DigestAnswer =
  | { kind: "no-record" }
  | { kind: "consistent"; carrier: Carrier; holder: RecordKeys }
  | { kind: "inconsistent"; carrier: Carrier; holder: RecordKeys };

/** A number and a name as digests (Cloudauth's Mobile2MetaVerify, md5): lower-case hex. */
export interface PhoneAndNameDigests {
  phoneHex: string;
  nameHex: string;
}

/**
 * The number's record (by its digest), and whether the name's digest is its holder's. A record whose digest row
 * keeps no name digest (imported before migration 17) is no record: nothing there can be compared.
 */
export type PhoneAndNameDigestAnswer =
  | { kind: "no-record" }
  | { kind: "consistent"; carrier: Carrier; holder: RecordKeys }
  | { kind: "inconsistent"; carrier: Carrier; holder: RecordKeys };

export interface VerificationSource {
  verifyDigests(elements: DigestElements): Promise<DigestAnswer>;
  verify(elements: NormalisedElements): Promise<SourceAnswer>;
  verifyPhoneAndName(elements: Pick<NormalisedElements, "phone" | "name">): Promise<PhoneAndNameAnswer>;
  /** the same by md5 digests of the number and the name */
  verifyPhoneAndNameDigests(digests: PhoneAndNameDigests): Promise<PhoneAndNameDigestAnswer>;
  lookUpNumber(phone: string): Promise<NumberAnswer>;
  /** the same by a digest of the number, lower-case hex */
  lookUpNumberDigest(algorithm: DigestAlgorithm, phoneHex: string): Promise<NumberDigestAnswer>;
  verifyIdCardAndName(elements: Pick<NormalisedElements, "idCard" | "name">): Promise<IdCardAndNameAnswer>;
}
