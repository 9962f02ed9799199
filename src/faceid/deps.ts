/** The ports every FaceID action composes (and the gateway's forwarded ones, and the test keys' fixtures). */
import type { Keyring } from "../common/keyring";
import type { DailyCounter, RateLimiter } from "../limits/contract";
import type { PrecheckPolicy } from "../rules/policy";
import type { RuleTables } from "../rules/tables";
import type { VerificationSource } from "../sources/contract";
import type { AdmissionDeps } from "../steps/admission";
import type { ChargeDeps } from "../steps/charge";
import type { Accounts, Ledger } from "../store/storage";
import type { FieldOpener } from "./field-decryption";
import type { Prices } from "./tariff";

export interface FaceIdDeps extends AdmissionDeps, ChargeDeps {
  tables: RuleTables;
  policy: PrecheckPolicy;
  source: VerificationSource;
  accounts: Pick<Accounts, "get">;
  ledger: Pick<Ledger, "charge">;
  keyring: Keyring;
  /** opens encrypted request fields (KMS or public-key envelope) */
  fields: FieldOpener;
  rateLimiter: RateLimiter;
  dailyCounter: DailyCounter;
  /** fen per charged answer, by action and variant */
  prices: Prices;
  /** how long the source may take before the answer is the action's busy code */
  sourceTimeoutMs: number;
  /** a failure that the caller sees only as a code: the source (busy) or the ledger (FailedOperation.UnKnown) */
  onError: (err: unknown, requestId: string, stage: "source" | "ledger") => void;
}
