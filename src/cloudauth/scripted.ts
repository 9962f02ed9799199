/**
 * The answers the test kit may ask of each Cloudauth action in place of its own (call/hooks.ts, beforeAnswer), by
 * the outcome code its answers carry: `200/BizCode[/SubCode|/TimeCode]`, or a failure Code. Read from the tables in
 * results.ts; a billed one is charged through a charge step of the call, as any answer is.
 */
import type { ActionOutcome } from "../call/action";
import type { ChargeStep } from "../steps/charge";
import { failure, success } from "./answer";
import {
  BUSINESS_CODES,
  type BusinessCode,
  MOBILE_3META_BIZ,
  MOBILE_3META_SUB,
  ONLINE_STATUS_SUB,
  ONLINE_TIME_BIZ,
  ONLINE_TIME_CODES,
} from "./results";
import { type CloudauthAction, isCloudauthAction } from "./tariff";

interface Scripted {
  /** the ResultObject's codes */
  result: Readonly<Record<string, string>>;
  billed: boolean;
}

const FAILURES = Object.keys(BUSINESS_CODES).filter((c): c is Exclude<BusinessCode, "200"> => c !== "200");
/** Failures a number-less action never answers (§1.5: 405 is for phone numbers). */
const ID_FAILURES = FAILURES.filter((c) => c !== "405");

const bizOnly = (): Record<string, Scripted> =>
  Object.fromEntries(
    Object.entries(MOBILE_3META_BIZ).map(([biz, info]) => [`200/${biz}`, { result: { BizCode: biz }, billed: info.billed }]),
  );
const withSub = (subs: Readonly<Record<string, { biz: "1" | "2" | "3" }>>): Record<string, Scripted> =>
  Object.fromEntries(
    Object.entries(subs).map(([sub, { biz }]) => [`200/${biz}/${sub}`, { result: { BizCode: biz, SubCode: sub }, billed: biz !== "3" }]),
  );
const onlineTime = (): Record<string, Scripted> => ({
  ...Object.fromEntries(Object.keys(ONLINE_TIME_CODES).map((t) => [`200/1/${t}`, { result: { BizCode: "1", TimeCode: t }, billed: true }])),
  "200/3": { result: { BizCode: "3" }, billed: ONLINE_TIME_BIZ["3"].billed },
});

const ANSWERS: Readonly<Record<CloudauthAction, { answers: Record<string, Scripted>; failures: readonly string[]; isp: boolean }>> = {
  Mobile3MetaSimpleVerify: { answers: bizOnly(), failures: FAILURES, isp: true },
  Mobile3MetaSimpleStandardVerify: { answers: bizOnly(), failures: FAILURES, isp: true },
  Mobile3MetaDetailVerify: { answers: withSub(MOBILE_3META_SUB), failures: FAILURES, isp: true },
  Mobile3MetaDetailStandardVerify: { answers: withSub(MOBILE_3META_SUB), failures: FAILURES, isp: true },
  Mobile2MetaVerify: { answers: bizOnly(), failures: FAILURES, isp: true },
  Id2MetaVerify: { answers: bizOnly(), failures: ID_FAILURES, isp: false },
  Id2MetaStandardVerify: { answers: bizOnly(), failures: ID_FAILURES, isp: false },
  MobileOnlineStatus: { answers: withSub(ONLINE_STATUS_SUB), failures: FAILURES, isp: true },
  MobileOnlineTime: { answers: onlineTime(), failures: FAILURES, isp: true },
};

/** The outcome codes a hook may give a Cloudauth action; undefined for any other action. */
export function cloudauthScriptable(action: string): ReadonlySet<string> | undefined {
  if (!isCloudauthAction(action)) return undefined;
  const { answers, failures } = ANSWERS[action];
  return new Set([...Object.keys(answers), ...failures]);
}

/** `label` of the action's table as the call's answer; charged first when it bills. IspName as a scripted answer has it: "". */
export async function scriptedCloudauth(action: CloudauthAction, label: string, charge: ChargeStep): Promise<ActionOutcome> {
  const { answers, failures, isp } = ANSWERS[action];
  const audit = { variant: charge.mode };
  const failed = failures.find((c) => c === label);
  if (failed !== undefined) return failure(failed as Exclude<BusinessCode, "200">, audit);
  const found = Object.hasOwn(answers, label) ? answers[label] : undefined;
  if (!found) throw new Error(`${action} has no answer ${label}`);
  if (found.billed) await charge.charge();
  return success(isp ? { ...found.result, IspName: "" } : found.result, found.billed, audit);
}
