/** The account as the API answers it, narrowed. */
import { count, field, flag, isRecord, list, text } from "./json";

export interface Account {
  accountId: string;
  name: string;
  createdAt: string;
  activated: boolean;
  identityVerified: boolean;
  billing: string;
  rateLimit: number;
  rateLimits: Array<[string, number]>;
  dailyCap: number;
  balance: string;
  monthlyBudget: string;
}

export function accountOf(value: unknown): Account {
  const limits = field(value, "rateLimits");
  return {
    accountId: text(field(value, "accountId")),
    name: text(field(value, "name")),
    createdAt: text(field(value, "createdAt")),
    activated: flag(field(value, "activated")),
    identityVerified: flag(field(value, "identityVerified")),
    billing: text(field(value, "billing")),
    rateLimit: count(field(value, "rateLimit")),
    rateLimits: isRecord(limits) ? Object.entries(limits).map(([action, n]) => [action, count(n)]) : [],
    dailyCap: count(field(value, "dailyCap")),
    balance: text(field(value, "balance")),
    monthlyBudget: text(field(value, "monthlyBudget")),
  };
}

export const accountsOf = (answer: unknown): Account[] => list(field(answer, "accounts")).map(accountOf);

/**
 * The actions an operator picks from (filters, limits, scenarios): FaceID's over Tencent's protocol, Cloudauth's over
 * Alibaba's; the server checks what it is sent.
 */
export const ACTIONS = [
  "PhoneVerification",
  "PhoneVerificationCMCC",
  "PhoneVerificationCTCC",
  "PhoneVerificationCUCC",
  "EncryptedPhoneVerification",
  "CheckPhoneAndName",
  "IdCardVerification",
  "MobileStatus",
  "MobileNetworkTimeVerification",
  "Mobile3MetaSimpleVerify",
  "Mobile3MetaDetailVerify",
  "Mobile3MetaSimpleStandardVerify",
  "Mobile3MetaDetailStandardVerify",
  "Mobile2MetaVerify",
  "Id2MetaVerify",
  "Id2MetaStandardVerify",
  "MobileOnlineStatus",
  "MobileOnlineTime",
];
