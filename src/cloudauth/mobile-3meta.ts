/**
 * Mobile3MetaSimpleVerify, Mobile3MetaDetailVerify and their Standard twins (alibaba-cloudauth.md §1.4, §6.1, §6.2,
 * §8): PhoneVerification's three-element check (faceid/three-elements.ts) from the same records, rules, daily cap
 * and charge, its Result read through FROM_PHONE_VERIFICATION. `ParamType=md5` matches the digests kept at import
 * (as EncryptedPhoneVerification does); a digest carries no detail, so a mismatch is SubCode 204 there. An md5 call
 * that finds a record counts against the person's daily cap under the record's keys, after the lookup (§8.7).
 */
import type { ParamSchema } from "../api3/params";
import { type ActionContext, type ActionDefinition, type ActionOutcome, defineAction } from "../call/action";
import { refused } from "../call/answer-phase";
import { withDeadline } from "../common/deadline";
import { admitted, chargeStepFor } from "../faceid/admitted";
import { threeElementCapKeys, threeElementDigestCapKeys } from "../faceid/cap-keys";
import type { FaceIdDeps } from "../faceid/deps";
import { RESULTS } from "../faceid/results";
import { threeElementCheck } from "../faceid/three-elements";
import type { DigestAnswer } from "../sources/contract";
import { chinaDate } from "../rules/precheck";
import { admitAccount } from "../steps/admission";
import type { Carrier } from "../rules/tables";
import { failure, success } from "./answer";
import { md5Fields, refuseInput } from "./translated";
import { FROM_PHONE_VERIFICATION, ISP_NAMES, type Mapped, MOBILE_3META_SUB } from "./results";
import { scriptedCloudauth } from "./scripted";
import type { CloudauthAction } from "./tariff";

export const MOBILE_3META_SCHEMA = {
  ParamType: { type: "String" },
  Mobile: { type: "String" },
  IdentifyNum: { type: "String" },
  UserName: { type: "String" },
} as const satisfies ParamSchema;

const isCarrier = (isp: unknown): isp is Carrier => typeof isp === "string" && Object.hasOwn(ISP_NAMES, isp);
/** FaceID's Isp (the carrier's en-US name) as IspName. */
const ispOf = (isp: unknown): string => (isCarrier(isp) ? ISP_NAMES[isp] : "");

/** A FaceID answer, or a digest match, as this action's answer: the SubCode only on the Detail actions. */
function answerOf(mapped: Mapped, billable: boolean, isp: string, detail: boolean, audit: ActionOutcome["audit"]): ActionOutcome {
  if ("code" in mapped) return failure(mapped.code, audit);
  const { biz } = MOBILE_3META_SUB[mapped.sub] ?? { biz: "3" };
  return success(detail ? { BizCode: biz, SubCode: mapped.sub, IspName: isp } : { BizCode: biz, IspName: isp }, billable, audit);
}

function fromPhoneVerification(outcome: ActionOutcome, detail: boolean): ActionOutcome {
  const { Result, ResultDetail, Isp } = outcome.fields;
  const key = typeof ResultDetail === "string" ? `${String(Result)}/${ResultDetail}` : String(Result);
  const mapped = FROM_PHONE_VERIFICATION[key] ?? { code: "500" };
  return answerOf(mapped, outcome.billable, ispOf(Isp), detail, outcome.audit);
}

function mobile3Meta(action: CloudauthAction, detail: boolean, deps: FaceIdDeps): ActionDefinition {
  const mode = detail ? "detailed" : "simple";
  const check = threeElementCheck({ action, results: RESULTS, dailyCap: true }, deps);
  const translate = (outcome: ActionOutcome) => fromPhoneVerification(outcome, detail);
  // A test-kit answer never runs the check's own, so a charge step of its own charges it at most once.
  const scripted = (ctx: ActionContext) => (label: string) => scriptedCloudauth(action, label, chargeStepFor(action, mode, deps, ctx));

  async function hashed(params: { Mobile: string; IdentifyNum: string; UserName: string }, ctx: ActionContext) {
    const account = await admitAccount(action, deps, ctx.caller, ctx.now);
    const charge = chargeStepFor(action, mode, deps, ctx);
    const audit = { variant: mode };
    const admission = admitted(action, charge, ctx, async () => {
      const digests = md5Fields([params.Mobile, params.UserName, params.IdentifyNum]);
      if (!digests) return failure("401", audit);
      const [phoneHex = "", nameHex = "", idCardHex = ""] = digests;
      let found: DigestAnswer;
      try {
        found = await withDeadline(deps.source.verifyDigests({ algorithm: "md5", phoneHex, nameHex, idCardHex }), deps.sourceTimeoutMs);
      } catch (err) {
        deps.onError(err, ctx.requestId, "source");
        return failure("402", audit);
      }
      if (found.kind === "no-record") return answerOf({ sub: "301" }, false, "", detail, audit);
      // The person's daily cap, shared with PhoneVerification: under the found record's keyed hashes, the keys normal
      // mode counts under, when the digests are the record's; else the identity number asked about by its digest's.
      // Only now are they known, so a digest that finds no record is not counted.
      const capped =
        found.kind === "consistent"
          ? threeElementCapKeys(account.accountId, found.holder.phoneHash, found.holder.idCardHash)
          : threeElementDigestCapKeys(account.accountId, found.holder.phoneHash, deps.keyring.hash("idcard-digest", `md5:${idCardHex}`));
      if (!(await deps.dailyCounter.attempt(capped, account.dailyCap, chinaDate(ctx.now))))
        return answerOf(FROM_PHONE_VERIFICATION["-12"] ?? { code: "403" }, false, "", detail, audit);
      await charge.charge();
      return answerOf({ sub: found.kind === "consistent" ? "101" : "204" }, true, ISP_NAMES[found.carrier], detail, audit);
    });
    return { ...admission, answerWith: (label: string) => scriptedCloudauth(action, label, charge) };
  }

  return defineAction({
    name: action,
    schema: MOBILE_3META_SCHEMA,
    async admit(params, ctx) {
      const refusal = refuseInput(params.ParamType, [params.Mobile, params.IdentifyNum, params.UserName], true);
      if (refusal) return refused(refusal);
      const Mobile = params.Mobile ?? "";
      const IdentifyNum = params.IdentifyNum ?? "";
      const UserName = params.UserName ?? "";
      if (params.ParamType === "md5") return hashed({ Mobile, IdentifyNum, UserName }, ctx);
      const admission = await check.admit(
        { mode, resultDetail: detail, elements: async () => ({ Phone: Mobile, Name: UserName, IdCard: IdentifyNum }) },
        ctx,
      );
      if (!admission.admitted) return refused(translate(admission.refusal));
      return { ...admission, answer: async () => translate(await admission.answer()), answerWith: scripted(ctx) };
    },
    whenUnavailable: () => failure("402"),
    subjects: (params) => (params.ParamType === "normal" ? { phone: params.Mobile, idCard: params.IdentifyNum } : {}),
  });
}

export function mobile3MetaActions(deps: FaceIdDeps): ActionDefinition[] {
  return [
    mobile3Meta("Mobile3MetaSimpleVerify", false, deps),
    mobile3Meta("Mobile3MetaDetailVerify", true, deps),
    mobile3Meta("Mobile3MetaSimpleStandardVerify", false, deps),
    mobile3Meta("Mobile3MetaDetailStandardVerify", true, deps),
  ];
}
