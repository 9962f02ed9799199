/**
 * FaceID PhoneVerification (2018-03-01): the shared three-element check (three-elements.ts) with VerifyMode,
 * ResultDetail, the daily cap, and the flat field encryption (CiphertextBlob, EncryptList, Iv): a KMS blob or an RSA-wrapped AES key, AES-256-CBC
 * only, since these fields have no Algorithm.
 */
import { ApiError } from "../api3/errors";
import type { ParamSchema } from "../api3/params";
import { type ActionDefinition, defineAction } from "../call/action";
import type { VerifyModeName } from "../store/model";
import { THREE_FIELDS } from "./field-decryption";
import { RESULTS } from "./results";
import type { FaceIdDeps } from "./deps";
import { threeElementCheck } from "./three-elements";

export const ACTION = "PhoneVerification";

export const PHONE_VERIFICATION_SCHEMA = {
  IdCard: { type: "String", required: true },
  Name: { type: "String", required: true },
  Phone: { type: "String", required: true },
  VerifyMode: { type: "String" },
  CiphertextBlob: { type: "String" },
  EncryptList: { type: "StringArray" },
  Iv: { type: "String" },
} as const satisfies ParamSchema;

export function phoneVerification(deps: FaceIdDeps): ActionDefinition {
  const { admit, unavailable } = threeElementCheck({ action: ACTION, results: RESULTS, dailyCap: true }, deps);
  const modeOf = (verifyMode: string | undefined): VerifyModeName => (verifyMode === "1" ? "detailed" : "simple");
  return defineAction({
    name: ACTION,
    schema: PHONE_VERIFICATION_SCHEMA,
    async admit(params, ctx) {
      const verifyMode = params.VerifyMode ?? "0";
      if (verifyMode !== "0" && verifyMode !== "1") throw new ApiError("InvalidParameterValue", 'VerifyMode must be "0" or "1".');
      const mode = modeOf(verifyMode);
      return admit(
        {
          mode,
          resultDetail: mode === "detailed",
          elements: (account) => deps.fields.open(params, THREE_FIELDS, params, account, ctx, true),
        },
        ctx,
      );
    },
    // PostgreSQL, Redis or the counters away: the verification path cannot be completed (-11, uncharged).
    whenUnavailable: (params, ctx) => unavailable(modeOf(params.VerifyMode), ctx),
  });
}
