/**
 * What each FaceID action costs and how fast an account may call it, by default: data read by the config (which
 * lets an operator change both), the handlers and the docs alike. Prices are sanyao's defaults, in fen, not
 * Tencent's list prices; the per-second limits are Tencent's for a new account: 20 a second, IdCardVerification 100.
 */
import type { VerifyModeName } from "../store/model";

/** Every FaceID action served. */
export const FACEID_ACTIONS = [
  "PhoneVerification",
  "PhoneVerificationCMCC",
  "PhoneVerificationCTCC",
  "PhoneVerificationCUCC",
  "EncryptedPhoneVerification",
  "CheckPhoneAndName",
  "IdCardVerification",
  "MobileStatus",
  "MobileNetworkTimeVerification",
] as const;
export type FaceIdAction = (typeof FACEID_ACTIONS)[number];

/** fen per charged answer, by action and priced variant; `detailed` is PhoneVerification's VerifyMode "1" only */
export type PriceTable = Readonly<Record<FaceIdAction, Readonly<{ simple: number; detailed?: number }>>>;

export const DEFAULT_PRICES: PriceTable = {
  PhoneVerification: { simple: 30, detailed: 50 },
  PhoneVerificationCMCC: { simple: 30 },
  PhoneVerificationCTCC: { simple: 30 },
  PhoneVerificationCUCC: { simple: 30 },
  EncryptedPhoneVerification: { simple: 30 },
  CheckPhoneAndName: { simple: 20 },
  IdCardVerification: { simple: 10 },
  MobileStatus: { simple: 10 },
  MobileNetworkTimeVerification: { simple: 10 },
};

/** Prices of every product's actions by name: FaceID's (PriceTable) and those of other protocols' products. */
export type Prices = Readonly<Record<string, Readonly<{ simple: number; detailed?: number }>>>;

export function priceOf(prices: Prices, action: string, mode: VerifyModeName): number {
  const entry = Object.hasOwn(prices, action) ? prices[action] : undefined;
  if (!entry) throw new Error(`no price for ${action}`);
  return (mode === "detailed" ? entry.detailed : undefined) ?? entry.simple;
}

/** Actions whose per-second limit differs from SANYAO_RATE_LIMIT for a new account, as Tencent's does. */
export const DEFAULT_RATE_LIMITS: Readonly<Partial<Record<FaceIdAction, number>>> = { IdCardVerification: 100 };

export const isFaceIdAction = (name: string): name is FaceIdAction => (FACEID_ACTIONS as readonly string[]).includes(name);
