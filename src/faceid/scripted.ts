/**
 * The answers a test-kit scenario may ask of each FaceID action: any Result of its table, with the table's wording
 * and charge, and the action's own fields as a failure carries them (Isp "", StatusCode 99, Range "").
 */
import type { ActionContext, ActionOutcome, ScriptedAnswers } from "../api3/router";
import type { ParamValues } from "../api3/params";
import type { VerifyModeName } from "../store/model";
import {
  CARRIER_RESULTS,
  describeIn,
  ENCRYPTED_RESULTS,
  ID_CARD_RESULTS,
  MOBILE_STATUS_RESULTS,
  NETWORK_TIME_RESULTS,
  PHONE_AND_NAME_RESULTS,
  RESULTS,
  type ResultInfo,
} from "./results";
import type { FaceIdAction } from "./tariff";
import { chargeFor, type ThreeElementDeps } from "./three-elements";

interface Script {
  table: Readonly<Record<string, ResultInfo>>;
  /** the action's fields beside Result and Description */
  fields(result: string): Record<string, unknown>;
}

const ISP = (): Record<string, unknown> => ({ Isp: "" });

export const SCRIPTS: Readonly<Record<FaceIdAction, Script>> = {
  PhoneVerification: { table: RESULTS, fields: ISP },
  PhoneVerificationCMCC: { table: CARRIER_RESULTS, fields: ISP },
  PhoneVerificationCTCC: { table: CARRIER_RESULTS, fields: ISP },
  PhoneVerificationCUCC: { table: CARRIER_RESULTS, fields: ISP },
  EncryptedPhoneVerification: { table: ENCRYPTED_RESULTS, fields: () => ({ ISP: "" }) },
  CheckPhoneAndName: { table: PHONE_AND_NAME_RESULTS, fields: () => ({}) },
  IdCardVerification: { table: ID_CARD_RESULTS, fields: () => ({}) },
  MobileStatus: { table: MOBILE_STATUS_RESULTS, fields: (r) => ({ StatusCode: r === "0" ? 0 : 99 }) },
  MobileNetworkTimeVerification: { table: NETWORK_TIME_RESULTS, fields: (r) => ({ Range: r === "0" ? "[24,+)" : "" }) },
};

/** The Results a scenario may give an action; undefined for an action that has no result table. */
export function scriptableResults(action: string): ReadonlySet<string> | undefined {
  return Object.hasOwn(SCRIPTS, action) ? new Set(Object.keys(SCRIPTS[action as FaceIdAction].table)) : undefined;
}

export function scriptedAnswers(
  action: FaceIdAction,
  deps: ThreeElementDeps,
  modeOf: (params: ParamValues) => VerifyModeName = () => "simple",
): ScriptedAnswers {
  const { table, fields } = SCRIPTS[action];
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
