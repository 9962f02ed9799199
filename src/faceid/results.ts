/**
 * The result table of every FaceID action served, each Result with Tencent's wording (en-US and zh-CN), whether it
 * is charged, and for PhoneVerification its Isp. Keep the wording exact; handlers, docs and tests read these.
 */
import type { Language } from "../api3/errors";
import type { OutcomeSignal } from "../call/hooks";
import type { Carrier } from "../rules/tables";
import type { FaceIdAction } from "./tariff";

export type ResultCode = "0" | "-4" | "-6" | "-7" | "-8" | "-9" | "-11" | "-12" | "-13";

export interface ResultInfo {
  charged: boolean;
  en: string;
  zh: string;
  /** the code that says a daily cap was reached, or that the source is away: for the metrics, and the gateway's own answers */
  signal?: OutcomeSignal;
}

export const RESULTS: Readonly<Record<ResultCode, ResultInfo>> = {
  "0": { charged: true, en: "Authentication passed", zh: "认证通过" },
  "-4": { charged: true, en: "Information inconsistency", zh: "信息不一致" },
  "-6": { charged: false, en: "Invalid phone number", zh: "手机号码不合法" },
  "-7": { charged: false, en: "Identity number error", zh: "身份证号码有误" },
  "-8": { charged: false, en: "Name verification failed", zh: "姓名校验不通过" },
  "-9": { charged: false, en: "No records", zh: "没有记录" },
  "-11": { charged: false, en: "The Verification Center Service is busy", zh: "验证中心服务繁忙", signal: "source-failure" },
  "-12": {
    charged: false,
    en: "Authentication attempts exceeded the daily limit. Retry the next day.",
    zh: "认证次数超过当日限制，请次日重试",
    signal: "daily-cap",
  },
  "-13": { charged: false, en: "The number range is unsupported for verification.", zh: "该号段不支持验证" },
};

/** PhoneVerificationCMCC/CTCC/CUCC: PhoneVerification's codes and wording, without a daily-cap code. */
export type CarrierResultCode = Exclude<ResultCode, "-12">;
const { "-12": _noDailyCap, ...carrierResults } = RESULTS;
export const CARRIER_RESULTS: Readonly<Record<CarrierResultCode, ResultInfo>> = carrierResults;

/** EncryptedPhoneVerification: no -6, -12 or -13; -8 is a parameter error here. */
export type EncryptedResultCode = "0" | "-4" | "-7" | "-8" | "-9" | "-11";
export const ENCRYPTED_RESULTS: Readonly<Record<EncryptedResultCode, ResultInfo>> = {
  "0": RESULTS["0"],
  "-4": RESULTS["-4"],
  "-7": RESULTS["-7"],
  "-8": { charged: false, en: "Parameter error", zh: "参数错误" },
  "-9": RESULTS["-9"],
  "-11": RESULTS["-11"],
};

/** CheckPhoneAndName: numbered differently, a positive 1 for a mismatch, no Isp. */
export type PhoneAndNameResultCode = "0" | "1" | "-1" | "-2" | "-3" | "-4" | "-5" | "-6" | "-13";
export const PHONE_AND_NAME_RESULTS: Readonly<Record<PhoneAndNameResultCode, ResultInfo>> = {
  "0": { charged: true, en: "The verification result is consistent", zh: "验证结果一致" },
  "1": { charged: true, en: "The verification result is inconsistent", zh: "验证结果不一致" },
  "-1": { charged: false, en: "No records found", zh: "查无记录" },
  "-2": { charged: false, en: "Unknown engine error", zh: "引擎未知错误" },
  "-3": { charged: false, en: "Engine service exception", zh: "引擎服务异常", signal: "source-failure" },
  "-4": { charged: false, en: "Name verification failed", zh: "姓名校验不通过" },
  "-5": { charged: false, en: "Invalid phone number", zh: "手机号码不合法" },
  "-6": RESULTS["-12"],
  "-13": RESULTS["-13"],
};

/** IdCardVerification: an identity number and a name. */
export type IdCardResultCode = "0" | "-1" | "-2" | "-3" | "-4" | "-5" | "-6" | "-7";
export const ID_CARD_RESULTS: Readonly<Record<IdCardResultCode, ResultInfo>> = {
  "0": { charged: true, en: "The name and the identity number match", zh: "姓名和身份证号一致" },
  "-1": { charged: true, en: "The name and the identity number do not match", zh: "姓名和身份证号不一致" },
  "-2": { charged: false, en: "Invalid identity number (length, check digit or the like)", zh: "非法身份证号（长度、校验位等不正确）" },
  "-3": { charged: false, en: "Invalid name (length, format or the like)", zh: "非法姓名（长度、格式等不正确）" },
  "-4": { charged: false, en: "The identity database service is abnormal", zh: "证件库服务异常", signal: "source-failure" },
  "-5": { charged: false, en: "No record of this identity number in the identity database", zh: "证件库中无此身份证记录" },
  "-6": {
    charged: false,
    en: "The authoritative comparison system is being upgraded. Try again later.",
    zh: "权威比对系统升级中，请稍后再试",
  },
  "-7": { charged: false, en: "Authentication attempts exceeded the daily limit", zh: "认证次数超过当日限制", signal: "daily-cap" },
};

const DAILY_LIMIT: ResultInfo = RESULTS["-12"];
const BUSY: ResultInfo = RESULTS["-11"];

/** MobileStatus: every failure carries StatusCode 99. */
export type MobileStatusResultCode = "0" | "-1" | "-2" | "-3" | "-4" | "-13";
export const MOBILE_STATUS_RESULTS: Readonly<Record<MobileStatusResultCode, ResultInfo>> = {
  "0": { charged: true, en: "Success", zh: "成功" },
  "-1": { charged: false, en: "No result found", zh: "未查询到结果" },
  "-2": { charged: false, en: "Invalid phone number format", zh: "手机号格式不正确" },
  "-3": BUSY,
  "-4": DAILY_LIMIT,
  "-13": RESULTS["-13"],
};

/** MobileNetworkTimeVerification: -2 and -3 are charged too; failures carry Range "". */
export type NetworkTimeResultCode = "0" | "-1" | "-2" | "-3" | "-4" | "-5" | "-13";
export const NETWORK_TIME_RESULTS: Readonly<Record<NetworkTimeResultCode, ResultInfo>> = {
  "0": { charged: true, en: "Success", zh: "成功" },
  "-1": { charged: false, en: "Invalid phone number format", zh: "手机号格式不正确" },
  "-2": { charged: true, en: "The phone number does not exist", zh: "手机号不存在" },
  "-3": {
    charged: true,
    en: "The phone number exists, but its time on the network cannot be found",
    zh: "手机号存在，但无法查询到在网时长",
  },
  "-4": BUSY,
  "-5": DAILY_LIMIT,
  "-13": RESULTS["-13"],
};

/** Each action's table, by action: the one map the scripted answers, the gateway, the metrics and the tests read. */
export const RESULT_TABLES: Readonly<Record<FaceIdAction, Readonly<Record<string, ResultInfo>>>> = {
  PhoneVerification: RESULTS,
  PhoneVerificationCMCC: CARRIER_RESULTS,
  PhoneVerificationCTCC: CARRIER_RESULTS,
  PhoneVerificationCUCC: CARRIER_RESULTS,
  EncryptedPhoneVerification: ENCRYPTED_RESULTS,
  CheckPhoneAndName: PHONE_AND_NAME_RESULTS,
  IdCardVerification: ID_CARD_RESULTS,
  MobileStatus: MOBILE_STATUS_RESULTS,
  MobileNetworkTimeVerification: NETWORK_TIME_RESULTS,
};

/** The table's code for a daily cap reached, or for the source away; undefined where the action has none. */
export function codeFor(table: Readonly<Record<string, ResultInfo>>, signal: OutcomeSignal): string | undefined {
  return Object.keys(table).find((code) => table[code]?.signal === signal);
}

// The documented en-US enum is ["", "mobile", "telecom", "cucc"]; broadnet is our extension.
const ISP_ZH: Readonly<Record<Carrier, string>> = { mobile: "移动", telecom: "电信", cucc: "联通", broadnet: "广电", "": "" };

export function describe(result: ResultCode, language: Language): string {
  return describeIn(RESULTS[result], language);
}

export function describeIn(info: ResultInfo, language: Language): string {
  return language === "zh-CN" ? info.zh : info.en;
}

export function ispName(carrier: Carrier, language: Language): string {
  return language === "zh-CN" ? ISP_ZH[carrier] : carrier;
}
