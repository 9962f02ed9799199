/**
 * CheckPhoneAndName (faceid-family.md §3.4): does this mobile number's holder have this name? Its own order and
 * codes: account state → rate limit → number (-5) → segment (-13) → name (-4) → daily cap (-6) → source → charge;
 * admission ends with the daily cap, counted only for inputs that passed their checks.
 * `Mobile`, not `Phone`; no Isp in the answer. Both fields may come encrypted in the
 * `Encryption` object.
 */
import type { ParamSchema } from "../api3/params";
import { type ActionDefinition, defineAction } from "../call/action";
import { maskPhone } from "../common/privacy";
import { chinaDate } from "../rules/precheck";
import { checkName } from "../rules/name";
import { classifyPhone } from "../rules/phone";
import type { PhoneAndNameAnswer } from "../sources/contract";
import { answersFrom } from "./answer";
import { ENCRYPTION_PARAM } from "./field-decryption";
import { PHONE_AND_NAME_RESULTS, type PhoneAndNameResultCode } from "./results";
import { refused } from "../call/answer-phase";
import { withDeadline } from "../common/deadline";
import { admitAccount } from "../steps/admission";
import { admitted, chargeStepFor } from "./admitted";
import { phoneAndNameCapKey } from "./cap-keys";
import type { FaceIdDeps } from "./deps";

export const CHECK_PHONE_AND_NAME = "CheckPhoneAndName";

export const CHECK_PHONE_AND_NAME_SCHEMA = {
  Mobile: { type: "String", required: true },
  Name: { type: "String", required: true },
  Encryption: ENCRYPTION_PARAM,
} as const satisfies ParamSchema;
const ENCRYPTABLE = ["Mobile", "Name"] as const;

/** `name`: another product's action answered by this check (Cloudauth's Mobile2MetaVerify), priced and limited as itself. */
export function checkPhoneAndName(deps: FaceIdDeps, name: string = CHECK_PHONE_AND_NAME): ActionDefinition {
  const answer = answersFrom(PHONE_AND_NAME_RESULTS);
  return defineAction({
    name,
    schema: CHECK_PHONE_AND_NAME_SCHEMA,
    async admit(params, ctx) {
      const account = await admitAccount(name, deps, ctx.caller, ctx.now);
      const given = await deps.fields.open(params, ENCRYPTABLE, params.Encryption, account, ctx);
      const phone = classifyPhone(given.Mobile, deps.tables.segments, deps.policy);
      const subject = maskPhone(phone.national);
      const charge = chargeStepFor(name, "simple", deps, ctx);
      const answered = (code: PhoneAndNameResultCode) => admitted(name, charge, ctx, async () => answer(code, ctx, subject));
      // Inputs that are not well formed are answered after admission, uncounted.
      if (phone.kind === "invalid") return answered("-5");
      if (phone.kind === "unsupported") return answered("-13");
      const checkedName = checkName(given.Name, deps.policy);
      if (checkedName.kind === "invalid") return answered("-4");

      // One cap per number whichever protocol asks (the cap's key is this check's, not the action's).
      const counter = phoneAndNameCapKey(account.accountId, deps.keyring.hash("phone", phone.national));
      if (!(await deps.dailyCounter.attempt([counter], account.dailyCap, chinaDate(ctx.now)))) return refused(answer("-6", ctx, subject));

      return admitted(name, charge, ctx, async () => {
        let found: PhoneAndNameAnswer;
        try {
          found = await withDeadline(
            deps.source.verifyPhoneAndName({ phone: phone.national, name: checkedName.normalized }),
            deps.sourceTimeoutMs,
          );
        } catch (err) {
          deps.onError(err, ctx.requestId, "source");
          return answer("-3", ctx, subject);
        }
        if (found.kind === "no-record") return answer("-1", ctx, subject);
        await charge.charge();
        return answer(found.kind === "consistent" ? "0" : "1", ctx, subject);
      });
    },
    // PostgreSQL, Redis or the counters away: the engine's service is unavailable (-3, uncharged).
    whenUnavailable: (_params, ctx) => answer("-3", ctx),
  });
}
