/**
 * Mobile2MetaVerify (CheckPhoneAndName's check) and Id2MetaVerify with its Standard twin (IdCardVerification's),
 * alibaba-cloudauth.md §1.4, §6.3, §6.4: the same records, rules, daily caps and charge, read through their tables.
 * Mobile2MetaVerify's md5 mode is its own admission (mobile-2meta-md5.ts).
 */
import type { ParamSchema } from "../api3/params";
import type { ActionDefinition } from "../call/action";
import { checkPhoneAndName } from "../faceid/check-phone-and-name";
import type { FaceIdDeps } from "../faceid/deps";
import { idCardVerification } from "../faceid/id-card-verification";
import { classifyPhone } from "../rules/phone";
import { mobile2MetaDigests } from "./mobile-2meta-md5";
import { plainFields, recoverIdCardIfBuilt } from "./partial-md5";
import { FROM_CHECK_PHONE_AND_NAME, FROM_ID_CARD_VERIFICATION, ISP_NAMES } from "./results";
import { refuseInput, resultKey, translated } from "./translated";

export const MOBILE_2META_SCHEMA = {
  ParamType: { type: "String" },
  Mobile: { type: "String" },
  UserName: { type: "String" },
} as const satisfies ParamSchema;

export const ID_2META_SCHEMA = {
  ParamType: { type: "String" },
  IdentifyNum: { type: "String" },
  UserName: { type: "String" },
} as const satisfies ParamSchema;

/** The number's carrier by its segment, for IspName; "" for a number that is none. */
export function ispOfNumber(mobile: string | undefined, deps: FaceIdDeps): string {
  const phone = classifyPhone(mobile ?? "", deps.tables.segments, deps.policy);
  return phone.kind === "invalid" ? "" : ISP_NAMES[phone.carrier];
}

export function mobile2MetaVerify(deps: FaceIdDeps): ActionDefinition {
  const name = "Mobile2MetaVerify";
  const digests = mobile2MetaDigests(deps);
  return translated({
    name,
    deps,
    schema: MOBILE_2META_SCHEMA,
    check: checkPhoneAndName(deps, name),
    refuse: (p) => refuseInput(p.ParamType, [p.Mobile, p.UserName], true),
    fields: (p) => ({ Mobile: p.Mobile ?? "", Name: p.UserName ?? "" }),
    keyOf: (outcome) => resultKey(outcome),
    table: FROM_CHECK_PHONE_AND_NAME,
    extra: (p) => ({ IspName: ispOfNumber(p.Mobile, deps) }),
    // a digest names no number: nothing to mask or limit by
    subjects: (p) => (p.ParamType === "normal" ? { phone: p.Mobile } : {}),
    hashed: (p, ctx) => (p.ParamType === "md5" ? digests(p, ctx) : undefined),
  });
}

/** md5 here is Id2Meta's partial form, answered as plain once its hidden parts are recovered (partial-md5.ts). */
function id2Meta(name: "Id2MetaVerify" | "Id2MetaStandardVerify", deps: FaceIdDeps): ActionDefinition {
  return translated({
    name,
    deps,
    schema: ID_2META_SCHEMA,
    check: idCardVerification(deps, name),
    refuse: (p) => refuseInput(p.ParamType, [p.IdentifyNum, p.UserName], true),
    fields: (p) =>
      p.ParamType === "md5" ? plainFields(p.IdentifyNum ?? "", p.UserName ?? "") : { IdCard: p.IdentifyNum ?? "", Name: p.UserName ?? "" },
    keyOf: (outcome) => resultKey(outcome),
    table: FROM_ID_CARD_VERIFICATION,
    subjects: (p) => ({ idCard: p.ParamType === "md5" ? recoverIdCardIfBuilt(p.IdentifyNum ?? "") : p.IdentifyNum }),
  });
}

export const id2MetaActions = (deps: FaceIdDeps): ActionDefinition[] => [
  id2Meta("Id2MetaVerify", deps),
  id2Meta("Id2MetaStandardVerify", deps),
];
