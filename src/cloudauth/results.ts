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

/** What a FaceID answer is for the other families: a failure Code, or the ResultObject's codes (IspName apart). */
export type MappedResult = { code: Exclude<BusinessCode, "200"> } | { result: Readonly<Record<string, string>> };

/** Mobile2MetaVerify, Id2MetaVerify, Id2MetaStandardVerify: BizCode only, billed 1 and 2 (§1.4, §8.2). */
export const TWO_META_BIZ: Readonly<Record<"1" | "2" | "3", BizInfo>> = MOBILE_3META_BIZ;

/** CheckPhoneAndName's Result as Mobile2MetaVerify answers it (§6.3). */
export const FROM_CHECK_PHONE_AND_NAME: Readonly<Record<string, MappedResult>> = {
  "0": { result: { BizCode: "1" } },
  "1": { result: { BizCode: "2" } },
  "-1": { result: { BizCode: "3" } },
  "-2": { code: "500" },
  "-3": { code: "402" },
  "-4": { code: "401" },
  "-5": { code: "401" },
  "-6": { code: "403" },
  "-13": { code: "405" },
};

/**
 * Mobile2MetaVerify in md5 mode (§8.5): what the digests found, as the CheckPhoneAndName Result it stands for, read
 * through FROM_CHECK_PHONE_AND_NAME. A record kept without a name digest (imported before migration 17) is found as
 * "no-record"; a digest that finds no record is not counted against the daily cap (nothing names the person).
 */
export const FROM_PHONE_AND_NAME_DIGESTS = {
  consistent: "0",
  inconsistent: "1",
  "no-record": "-1",
  "not-a-digest": "-5",
  "source-failure": "-3",
  "over-cap": "-6",
} as const satisfies Readonly<Record<string, keyof typeof FROM_CHECK_PHONE_AND_NAME>>;

/** IdCardVerification's Result as Id2MetaVerify and Id2MetaStandardVerify answer it (§6.4). */
export const FROM_ID_CARD_VERIFICATION: Readonly<Record<string, MappedResult>> = {
  "0": { result: { BizCode: "1" } },
  "-1": { result: { BizCode: "2" } },
  "-5": { result: { BizCode: "3" } },
  "-2": { code: "401" },
  "-3": { code: "401" },
  "-4": { code: "402" },
  "-6": { code: "402" },
  "-7": { code: "403" },
};

/** MobileOnlineStatus: SubCode, its BizCode and what it means; BizCode 1 and 2 billed (§1.4, §8.2, §8.3). */
export const ONLINE_STATUS_SUB: Readonly<Record<string, { biz: "1" | "2" | "3"; meaning: string }>> = {
  "101": { biz: "1", meaning: "正常在用" },
  "201": { biz: "2", meaning: "停机" },
  "202": { biz: "2", meaning: "销号" },
  "203": { biz: "2", meaning: "在网但不可用" },
  "204": { biz: "2", meaning: "未启用" },
  "301": { biz: "3", meaning: "查无记录" },
};

/** MobileStatus's Result (with its StatusCode on 0) as MobileOnlineStatus answers it (§6.5). */
export const FROM_MOBILE_STATUS: Readonly<Record<string, MappedResult>> = {
  "0/0": { result: { BizCode: "1", SubCode: "101" } },
  "0/1": { result: { BizCode: "2", SubCode: "201" } },
  "0/2": { result: { BizCode: "2", SubCode: "202" } },
  "0/5": { result: { BizCode: "2", SubCode: "203" } },
  "0/4": { result: { BizCode: "2", SubCode: "204" } },
  "-1": { result: { BizCode: "3", SubCode: "301" } },
  "-2": { code: "401" },
  "-3": { code: "402" },
  "-4": { code: "403" },
  "-13": { code: "405" },
};

/** MobileOnlineTime: TimeCode by months on the network; BizCode 1 billed, 3 not (§1.4, §8.2). */
export const ONLINE_TIME_CODES: Readonly<Record<string, string>> = {
  "1": "[0,3)",
  "2": "[3,6)",
  "3": "[6,12)",
  "4": "[12,24)",
  "5": "[24,+)",
};
export const ONLINE_TIME_BIZ: Readonly<Record<"1" | "3", BizInfo>> = {
  "1": { billed: true, meaning: "有查询结果" },
  "3": { billed: false, meaning: "无查询结果" },
};

/** MobileNetworkTimeVerification's Result (with its Range on 0) as MobileOnlineTime answers it (§6.6). */
export const FROM_NETWORK_TIME: Readonly<Record<string, MappedResult>> = {
  ...Object.fromEntries(
    Object.entries(ONLINE_TIME_CODES).map(([time, range]) => [`0/${range}`, { result: { BizCode: "1", TimeCode: time } }]),
  ),
  "-1": { code: "401" },
  "-2": { result: { BizCode: "3" } },
  "-3": { result: { BizCode: "3" } },
  "-4": { code: "402" },
  "-5": { code: "403" },
  "-13": { code: "405" },
};

/** Every outcome code a Cloudauth answer carries (`200/BizCode[/SubCode]`, or the failure Code): the metrics' labels. */
export const CLOUDAUTH_OUTCOME_CODES: readonly string[] = [
  ...Object.keys(BUSINESS_CODES),
  ...Object.entries({ ...MOBILE_3META_SUB, ...ONLINE_STATUS_SUB }).flatMap(([sub, { biz }]) => [`200/${biz}`, `200/${biz}/${sub}`]),
  ...Object.keys(ONLINE_TIME_CODES).map((time) => `200/1/${time}`),
];

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
