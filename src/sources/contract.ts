/**
 * A verification source answers for three well-formed, normalised elements. A throw means -11: UnavailableError
 * ("source") for a source that says it is busy, any other for one that failed.
 */
import type { Carrier } from "../rules/tables";

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

export interface VerificationSource {
  verify(elements: NormalisedElements): Promise<SourceAnswer>;
}
