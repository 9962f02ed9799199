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

/** Hashed inputs (EncryptedPhoneVerification): lower-case hex digests of the normalised values. */
export interface DigestElements {
  algorithm: DigestAlgorithm;
  phoneHex: string;
  nameHex: string;
  idCardHex: string;
}

/** The number's record (by its digest), and whether the name's and identity number's digests are its holder's. */
export type DigestAnswer = { kind: "no-record" } | { kind: "consistent"; carrier: Carrier } | { kind: "inconsistent"; carrier: Carrier };

export interface VerificationSource {
  verifyDigests(elements: DigestElements): Promise<DigestAnswer>;
  verify(elements: NormalisedElements): Promise<SourceAnswer>;
  verifyPhoneAndName(elements: Pick<NormalisedElements, "phone" | "name">): Promise<PhoneAndNameAnswer>;
  lookUpNumber(phone: string): Promise<NumberAnswer>;
  /** the same by a digest of the number, lower-case hex */
  lookUpNumberDigest(algorithm: DigestAlgorithm, phoneHex: string): Promise<NumberAnswer>;
  verifyIdCardAndName(elements: Pick<NormalisedElements, "idCard" | "name">): Promise<IdCardAndNameAnswer>;
}
