/**
 * The answers a hook may ask of each FaceID action in place of its own (call/hooks.ts, beforeAnswer): any Result of
 * its table, with the table's wording and charge, and the action's own fields as a failure carries them (Isp "",
 * StatusCode 99, Range ""). A charged one is charged through the call's own charge step.
 */
import type { ActionContext, ActionOutcome } from "../call/action";
import type { ChargeStep } from "../steps/charge";
import { describeIn, RESULT_TABLES } from "./results";
import { type FaceIdAction, isFaceIdAction } from "./tariff";

/** The action's fields beside Result and Description, as a failure carries them. */
type AnswerFields = (result: string) => Record<string, unknown>;

const ISP: AnswerFields = () => ({ Isp: "" });

export const ANSWER_FIELDS: Readonly<Record<FaceIdAction, AnswerFields>> = {
  PhoneVerification: ISP,
  PhoneVerificationCMCC: ISP,
  PhoneVerificationCTCC: ISP,
  PhoneVerificationCUCC: ISP,
  EncryptedPhoneVerification: () => ({ ISP: "" }),
  CheckPhoneAndName: () => ({}),
  IdCardVerification: () => ({}),
  MobileStatus: (r) => ({ StatusCode: r === "0" ? 0 : 99 }),
  MobileNetworkTimeVerification: (r) => ({ Range: r === "0" ? "[24,+)" : "" }),
};

/** The Results a hook may give an action; undefined for an action that has no result table. */
export function scriptableResults(action: string): ReadonlySet<string> | undefined {
  return isFaceIdAction(action) ? new Set(Object.keys(RESULT_TABLES[action])) : undefined;
}

/** `result` of the action's table as the call's answer; charged first when the table charges it. */
export async function scriptedAnswer(action: FaceIdAction, result: string, charge: ChargeStep, ctx: ActionContext): Promise<ActionOutcome> {
  const table = RESULT_TABLES[action];
  const info = Object.hasOwn(table, result) ? table[result] : undefined;
  if (!info) throw new Error(`${action} has no Result ${result}`);
  const { mode } = charge;
  const extra: Record<string, unknown> = ANSWER_FIELDS[action](result);
  if (mode === "detailed" && result === "-4") extra.ResultDetail = "OtherMismatch";
  // Charged like any other answer: in the ledger before the answer is sent.
  if (info.charged) await charge.charge();
  return {
    fields: { Result: result, Description: describeIn(info, ctx.language), ...extra },
    billable: info.charged,
    result,
    audit: { variant: mode },
  };
}
