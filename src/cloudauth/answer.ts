/**
 * Cloudauth's answer body (alibaba-cloudauth.md §1.3, §8.1): Code and Message, and on Code 200 the ResultObject, all
 * strings. The outcome's code for logs, audit and metrics is the Code, or for 200 `200/BizCode[/SubCode|/TimeCode]`.
 */
import type { ActionOutcome } from "../call/action";
import type { AuditDetail } from "../common/audit";
import { BUSINESS_CODES, type BusinessCode } from "./results";

export function failure(code: Exclude<BusinessCode, "200">, audit?: AuditDetail, message?: string): ActionOutcome {
  const signal = code === "403" ? "daily-cap" : code === "402" ? "source-failure" : undefined;
  return { fields: { Code: code, Message: message ?? BUSINESS_CODES[code] }, billable: false, result: code, audit, signal };
}

export function success(result: Readonly<Record<string, string>>, billable: boolean, audit?: AuditDetail): ActionOutcome {
  const label = ["200", result.BizCode, result.SubCode ?? result.TimeCode].filter((x) => x !== undefined).join("/");
  return { fields: { Code: "200", Message: BUSINESS_CODES["200"], ResultObject: { ...result } }, billable, result: label, audit };
}
