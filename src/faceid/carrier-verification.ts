/**
 * PhoneVerificationCMCC, PhoneVerificationCTCC, PhoneVerificationCUCC (faceid-family.md §3.2): the three-element
 * check for one carrier's numbers. No VerifyMode, no ResultDetail, no daily cap; another carrier's number answers
 * -13 (§7.2), the carrier being the record's (a ported number) or else the segment's.
 * Fields may come encrypted in the `Encryption` object (AES-256-CBC or SM4-GCM).
 */
import type { ParamSchema } from "../api3/params";
import { type ActionDefinition, defineAction } from "../call/action";
import type { Carrier } from "../rules/tables";
import { ENCRYPTION_PARAM, THREE_FIELDS } from "./field-decryption";
import { CARRIER_RESULTS } from "./results";
import type { FaceIdDeps } from "./deps";
import type { FaceIdAction } from "./tariff";
import { threeElementCheck } from "./three-elements";

export const CARRIER_VERIFICATION_SCHEMA = {
  IdCard: { type: "String", required: true },
  Name: { type: "String", required: true },
  Phone: { type: "String", required: true },
  Encryption: ENCRYPTION_PARAM,
} as const satisfies ParamSchema;

/** The actions and the carrier each serves. */
export const CARRIER_ACTIONS: ReadonlyArray<{ action: FaceIdAction; carrier: Carrier }> = [
  { action: "PhoneVerificationCMCC", carrier: "mobile" },
  { action: "PhoneVerificationCTCC", carrier: "telecom" },
  { action: "PhoneVerificationCUCC", carrier: "cucc" },
];

export function carrierVerifications(deps: FaceIdDeps): ActionDefinition[] {
  return CARRIER_ACTIONS.map(({ action, carrier }) => {
    const { admit, unavailable } = threeElementCheck({ action, results: CARRIER_RESULTS, carrier, dailyCap: false }, deps);
    return defineAction({
      name: action,
      schema: CARRIER_VERIFICATION_SCHEMA,
      admit: (params, ctx) =>
        admit(
          {
            mode: "simple",
            resultDetail: false,
            elements: (account) => deps.fields.open(params, THREE_FIELDS, params.Encryption, account, ctx),
          },
          ctx,
        ),
      whenUnavailable: (_params, ctx) => unavailable("simple", ctx),
    });
  });
}
