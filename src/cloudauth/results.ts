/**
 * Cloudauth's answers as data (alibaba-cloudauth.md §1.3–§1.5, §6, §8): the business Codes, each family's
 * BizCode/SubCode table with what it bills, and how a FaceID Result of the same check reads here. Handlers, docs and
 * tests read these; the wording is Alibaba's.
 */
import type { ErrorCode } from "../api3/errors";
import type { Carrier } from "../rules/tables";

/** The body's Code: "200" is an answer to read in ResultObject, any other a failure with no ResultObject. */
export const BUSINESS_CODES = {
  "200": "success",
  "400": "参数不能为空",
  "401": "参数非法",
  "402": "权威源服务异常",
  "403": "异常重复调用",
  "405": "手机号不可查询",
  "410": "未开通服务",
  "411": "RAM无权限",
  "412": "欠费中",
  "500": "系统错误",
} as const;
export type BusinessCode = keyof typeof BUSINESS_CODES;

export interface BizInfo {
  /** billed when answered (§8.2) */
  billed: boolean;
  meaning: string;
}

/** Mobile3Meta*: BizCode, billed 1 and 2 (§1.4, §8.2). */
export const MOBILE_3META_BIZ: Readonly<Record<"1" | "2" | "3", BizInfo>> = {
  "1": { billed: true, meaning: "校验一致" },
  "2": { billed: true, meaning: "校验不一致" },
  "3": { billed: false, meaning: "查无记录" },
};

/** Mobile3MetaDetail*: SubCode and the BizCode it pairs with (§8.3). */
export const MOBILE_3META_SUB: Readonly<Record<string, { biz: "1" | "2" | "3"; meaning: string }>> = {
  "101": { biz: "1", meaning: "验证通过" },
  "201": { biz: "2", meaning: "手机号和姓名不一致，手机号和证件号不一致" },
  "202": { biz: "2", meaning: "手机号和姓名一致，手机号和证件号不一致" },
  "203": { biz: "2", meaning: "手机号和证件号一致，手机号和姓名不一致" },
  "204": { biz: "2", meaning: "其他不一致" },
  "301": { biz: "3", meaning: "查无记录" },
};

/** What a FaceID answer is here: a business failure Code, or an answer with its SubCode (§6). */
export type Mapped = { code: Exclude<BusinessCode, "200"> } | { sub: keyof typeof MOBILE_3META_SUB };

/** PhoneVerification's Result (and ResultDetail) as Mobile3Meta* answers it (§6.1, §6.2). */
export const FROM_PHONE_VERIFICATION: Readonly<Record<string, Mapped>> = {
  "0": { sub: "101" },
  "-4": { sub: "204" },
  "-4/PhoneNameIdCardMismatch": { sub: "201" },
  "-4/PhoneIdCardMismatch": { sub: "202" },
  "-4/PhoneNameMismatch": { sub: "203" },
  "-4/OtherMismatch": { sub: "204" },
  "-4/NameIdCardMismatch": { sub: "204" },
  "-6": { code: "401" },
  "-7": { code: "401" },
  "-8": { code: "401" },
  "-9": { sub: "301" },
  "-11": { code: "402" },
  "-12": { code: "403" },
  "-13": { code: "405" },
};

/** An account's refusal by the shared steps (steps/admission.ts), as Cloudauth answers it (§1.5, §6.1). */
export const REFUSALS: Readonly<Partial<Record<ErrorCode, Exclude<BusinessCode, "200">>>> = {
  "UnauthorizedOperation.Nonactivated": "410",
  "UnauthorizedOperation.NonAuthorize": "410",
  "UnauthorizedOperation.ChargeStatusException": "412",
  "UnauthorizedOperation.Arrears": "412",
  "FailedOperation.UnKnown": "500",
};

/** IspName by carrier (§1.3): CBCC for China Broadnet. */
export const ISP_NAMES: Readonly<Record<Carrier, string>> = { mobile: "CMCC", cucc: "CUCC", telecom: "CTCC", broadnet: "CBCC", "": "" };
