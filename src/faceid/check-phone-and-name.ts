/**
 * CheckPhoneAndName (faceid-family.md §3.4): does this mobile number's holder have this name? Its own order and
 * codes: account state → rate limit → number (-5) → segment (-13) → name (-4) → daily cap (-6) → source → charge.
 * `Mobile`, not `Phone`; no Isp in the answer. Both fields may come encrypted in the
 * `Encryption` object.
 */
import type { ParamSchema } from "../api3/params";
import { type ActionDefinition, defineAction } from "../api3/router";
import { maskPhone } from "../common/privacy";
import { chinaDate } from "../rules/precheck";
import { checkName } from "../rules/name";
import { classifyPhone } from "../rules/phone";
import type { PhoneAndNameAnswer } from "../sources/contract";
import { answersFrom } from "./answer";
import { ENCRYPTION_PARAM } from "./field-decryption";
import { PHONE_AND_NAME_RESULTS } from "./results";
import { admitCaller, chargeFor, type ThreeElementDeps, withDeadline } from "./three-elements";

export const CHECK_PHONE_AND_NAME = "CheckPhoneAndName";

export const CHECK_PHONE_AND_NAME_SCHEMA = {
  Mobile: { type: "String", required: true },
  Name: { type: "String", required: true },
  Encryption: ENCRYPTION_PARAM,
} as const satisfies ParamSchema;
const ENCRYPTABLE = ["Mobile", "Name"] as const;

export function checkPhoneAndName(deps: ThreeElementDeps): ActionDefinition {
  const answer = answersFrom(PHONE_AND_NAME_RESULTS);
  return defineAction({
    name: CHECK_PHONE_AND_NAME,
    schema: CHECK_PHONE_AND_NAME_SCHEMA,
    async handle(params, ctx) {
      const account = await admitCaller(CHECK_PHONE_AND_NAME, deps, ctx);
      const given = await deps.fields.open(params, ENCRYPTABLE, params.Encryption, account);
      const phone = classifyPhone(given.Mobile, deps.tables.segments, deps.policy);
      const subject = maskPhone(phone.national);
      if (phone.kind === "invalid") return answer("-5", ctx, subject);
      if (phone.kind === "unsupported") return answer("-13", ctx, subject);
      const name = checkName(given.Name, deps.policy);
      if (name.kind === "invalid") return answer("-4", ctx, subject);

      const counter = `${account.accountId}:${CHECK_PHONE_AND_NAME}:${deps.keyring.hash("phone", phone.national).toString("base64url")}`;
      if (!(await deps.dailyCounter.attempt([counter], account.dailyCap, chinaDate(ctx.now)))) return answer("-6", ctx, subject);

      let found: PhoneAndNameAnswer;
      try {
        found = await withDeadline(deps.source.verifyPhoneAndName({ phone: phone.national, name: name.normalized }), deps.sourceTimeoutMs);
      } catch (err) {
        deps.onError(err, ctx.requestId, "source");
        return answer("-3", ctx, subject);
      }
      if (found.kind === "no-record") return answer("-1", ctx, subject);
      await chargeFor(CHECK_PHONE_AND_NAME, "simple", deps, ctx);
      return answer(found.kind === "consistent" ? "0" : "1", ctx, subject);
    },
    // PostgreSQL, Redis or the counters away: the engine's service is unavailable (-3, uncharged).
    whenUnavailable: (_params, ctx) => answer("-3", ctx),
  });
}
