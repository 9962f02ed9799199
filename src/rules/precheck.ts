/**
 * The pre-check of one PhoneVerification request from its three inputs alone, in the order of
 * identity-rules.md §0.2: phone format (-6), segment (-13), identity number (-7), name (-8).
 */
import { perDay } from "../common/day-strings";
import { checkIdCard } from "./idcard";
import { checkName } from "./name";
import { classifyPhone } from "./phone";
import type { PrecheckPolicy } from "./policy";
import type { Carrier, RuleTables } from "./tables";

export type PrecheckResult =
  | { kind: "ok"; phone: string; idCard: string; name: string; carrier: Carrier }
  /** phone: the number as normalised, whatever it is (for masking) */
  | { kind: "rejected"; result: "-6" | "-13" | "-7" | "-8"; phone: string; carrier: Carrier; reason: string };

export interface ThreeElements {
  phone: string;
  name: string;
  idCard: string;
}

export function precheck(input: ThreeElements, tables: RuleTables, policy: PrecheckPolicy, todayChina: string): PrecheckResult {
  const phone = classifyPhone(input.phone, tables.segments, policy);
  const reject = (result: "-6" | "-13" | "-7" | "-8", carrier: Carrier, reason: string): PrecheckResult => ({
    kind: "rejected",
    result,
    phone: phone.national,
    carrier,
    reason,
  });
  if (phone.kind === "invalid") return reject("-6", "", `phone: ${phone.reason}`);
  if (phone.kind === "unsupported") return reject("-13", phone.carrier, `phone: ${phone.category} segment`);
  const id = checkIdCard(input.idCard, todayChina, tables.regionPrefixes, policy);
  if (id.kind === "invalid") return reject("-7", phone.carrier, `idcard: ${id.reason}`);
  const name = checkName(input.name, policy);
  if (name.kind === "invalid") return reject("-8", phone.carrier, `name: ${name.reason}`);
  return { kind: "ok", phone: phone.national, idCard: id.id18, name: name.normalized, carrier: phone.carrier };
}

const compactDay = perDay((dayStartMs) => new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, ""));

/** Today's date in China time (UTC+8, no DST) as YYYYMMDD. */
export function chinaDate(nowMs: number): string {
  return compactDay(nowMs + 8 * 3600_000);
}
