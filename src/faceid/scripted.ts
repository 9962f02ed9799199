/**
 * The answers a test-kit scenario may ask of each FaceID action: any Result of its table, with the table's wording
 * and charge, and the action's own fields as a failure carries them (Isp "", StatusCode 99, Range "").
 */
import type { ActionContext, ActionOutcome, ScriptedAnswers } from "../api3/router";
import type { ParamValues } from "../api3/params";
import type { VerifyModeName } from "../store/model";
import { describeIn, RESULT_TABLES } from "./results";
import type { FaceIdAction } from "./tariff";
import { chargeFor, type ThreeElementDeps } from "./three-elements";

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

/** The Results a scenario may give an action; undefined for an action that has no result table. */
export function scriptableResults(action: string): ReadonlySet<string> | undefined {
  return Object.hasOwn(RESULT_TABLES, action) ? new Set(Object.keys(RESULT_TABLES[action as FaceIdAction])) : undefined;
}

export function scriptedAnswers(
  action: FaceIdAction,
  deps: ThreeElementDeps,
  modeOf: (params: ParamValues) => VerifyModeName = () => "simple",
): ScriptedAnswers {
  const table = RESULT_TABLES[action];
  const fields = ANSWER_FIELDS[action];
  return {
    results: new Set(Object.keys(table)),
    async answer(result: string, params: ParamValues, ctx: ActionContext): Promise<ActionOutcome> {
      const info = table[result];
      if (!info) throw new Error(`${action} has no Result ${result}`);
      const mode = modeOf(params);
      const extra: Record<string, unknown> = fields(result);
      if (mode === "detailed" && result === "-4") extra.ResultDetail = "OtherMismatch";
      // A scenario's charged Result is charged like any other: in the ledger before the answer is sent.
      if (info.charged) await chargeFor(action, mode, deps, ctx);
      return {
        fields: { Result: result, Description: describeIn(info, ctx.language), ...extra },
        billable: info.charged,
        result,
        audit: { variant: mode },
      };
    },
  };
}
