/**
 * FaceID PhoneVerification (2018-03-01). The check order of phone-verification.md, as one sequence:
 * parameters → (account state, rate limit) → decryption → pre-check → (daily limit) → source → result.
 */
import { ApiError } from "../api3/errors";
import type { ParamSchema, ParamValues } from "../api3/params";
import type { ActionContext, ActionDefinition, ActionOutcome } from "../api3/router";
import { maskPhone } from "../privacy";
import { chinaDate, precheck } from "../rules/precheck";
import { normalisePhone } from "../rules/phone";
import type { PrecheckPolicy } from "../rules/policy";
import type { Carrier, RuleTables } from "../rules/tables";
import type { ResultDetail, VerificationSource } from "../sources/contract";
import { describe, ispName, RESULTS, type ResultCode } from "./results";

export const PHONE_VERIFICATION_SCHEMA: ParamSchema = {
  IdCard: { type: "String", required: true },
  Name: { type: "String", required: true },
  Phone: { type: "String", required: true },
  VerifyMode: { type: "String" },
  CiphertextBlob: { type: "String" },
  EncryptList: { type: "StringArray" },
  Iv: { type: "String" },
};

interface PhoneVerificationParams {
  IdCard: string;
  Name: string;
  Phone: string;
  VerifyMode?: string;
  CiphertextBlob?: string;
  EncryptList?: string[];
  Iv?: string;
}

export interface PhoneVerificationDeps {
  tables: RuleTables;
  policy: PrecheckPolicy;
  source: VerificationSource;
  /** how long the source may take before the answer is -11 */
  sourceTimeoutMs: number;
  onSourceError: (err: unknown, requestId: string) => void;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`source exceeded its ${ms} ms budget`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export function phoneVerification(deps: PhoneVerificationDeps): ActionDefinition {
  return {
    name: "PhoneVerification",
    schema: PHONE_VERIFICATION_SCHEMA,
    async handle(values: ParamValues, ctx: ActionContext): Promise<ActionOutcome> {
      // The schema has checked the types; this is the one place they are narrowed.
      const params = values as unknown as PhoneVerificationParams;
      const mode = params.VerifyMode ?? "0";
      if (mode !== "0" && mode !== "1") throw new ApiError("InvalidParameterValue", 'VerifyMode must be "0" or "1".');
      if (params.EncryptList && params.EncryptList.length > 0) {
        throw new ApiError("UnsupportedOperation", "Encrypted fields are not supported by this server yet.");
      }
      const phoneMasked = maskPhone(normalisePhone(params.Phone));

      const answer = (result: ResultCode, carrier: Carrier, detail?: ResultDetail): ActionOutcome => {
        const fields: Record<string, unknown> = {
          Result: result,
          Description: describe(result, ctx.language),
          Isp: ispName(carrier, ctx.language),
        };
        if (mode === "1" && result === "-4") fields.ResultDetail = detail ?? "OtherMismatch";
        return { fields, billable: RESULTS[result].charged, result, phoneMasked };
      };

      const checked = precheck(
        { phone: params.Phone, name: params.Name, idCard: params.IdCard },
        deps.tables,
        deps.policy,
        chinaDate(ctx.now),
      );
      if (checked.kind === "rejected") return answer(checked.result, checked.carrier);

      let found;
      try {
        found = await withDeadline(
          deps.source.verify({ phone: checked.phone, name: checked.name, idCard: checked.idCard }),
          deps.sourceTimeoutMs,
        );
      } catch (err) {
        deps.onSourceError(err, ctx.requestId);
        return answer("-11", checked.carrier);
      }
      if (found.kind === "no-record") return answer("-9", checked.carrier);
      const carrier = found.carrier || checked.carrier;
      if (found.kind === "consistent") return answer("0", carrier);
      return answer("-4", carrier, found.detail);
    },
  };
}
