/**
 * Mobile2MetaVerify with `ParamType=md5` (alibaba-cloudauth.md §1.2, §8.5): the number found by its md5 digest row,
 * the name compared with the name digest that row keeps, read through CheckPhoneAndName's table
 * (FROM_PHONE_AND_NAME_DIGESTS). Order: account → digests well formed → source → daily cap → charge. The cap is
 * CheckPhoneAndName's, counted under the found record's number (the keyed hash it is stored by), so it cannot come
 * before the lookup as in normal mode; a digest that finds no record is not counted. BizCode 1 and 2 billed (§8.2).
 */
import type { ActionContext, ActionOutcome } from "../call/action";
import type { Admission } from "../call/answer-phase";
import { withDeadline } from "../common/deadline";
import { chargeStepFor } from "../faceid/admitted";
import { phoneAndNameCapKey } from "../faceid/cap-keys";
import type { FaceIdDeps } from "../faceid/deps";
import { chinaDate } from "../rules/precheck";
import type { PhoneAndNameDigestAnswer } from "../sources/contract";
import { admitAccount } from "../steps/admission";
import { failure, success } from "./answer";
import { FROM_CHECK_PHONE_AND_NAME, FROM_PHONE_AND_NAME_DIGESTS, ISP_NAMES, TWO_META_BIZ } from "./results";
import { scriptedCloudauth } from "./scripted";
import { md5Fields } from "./translated";

const ACTION = "Mobile2MetaVerify";
type Found = keyof typeof FROM_PHONE_AND_NAME_DIGESTS;
const isBizCode = (biz: string | undefined): biz is keyof typeof TWO_META_BIZ => biz !== undefined && Object.hasOwn(TWO_META_BIZ, biz);

export function mobile2MetaDigests(deps: FaceIdDeps) {
  return async (params: { Mobile?: string; UserName?: string }, ctx: ActionContext): Promise<Admission<ActionOutcome>> => {
    const account = await admitAccount(ACTION, deps, ctx.caller, ctx.now);
    const charge = chargeStepFor(ACTION, "simple", deps, ctx);
    const audit = { variant: "simple" };

    /** `found` read through the table; billed (charged before it is sent) as TWO_META_BIZ says. */
    const answer = async (found: Found, ispName = ""): Promise<ActionOutcome> => {
      const mapped = FROM_CHECK_PHONE_AND_NAME[FROM_PHONE_AND_NAME_DIGESTS[found]] ?? { code: "500" };
      if ("code" in mapped) return failure(mapped.code, audit);
      const biz = mapped.result.BizCode;
      const billed = isBizCode(biz) && TWO_META_BIZ[biz].billed;
      if (billed) await charge.charge();
      return success({ ...mapped.result, IspName: ispName }, billed, audit);
    };

    const own = async (): Promise<ActionOutcome> => {
      const digests = md5Fields([params.Mobile ?? "", params.UserName ?? ""]);
      if (!digests) return answer("not-a-digest");
      const [phoneHex = "", nameHex = ""] = digests;
      let found: PhoneAndNameDigestAnswer;
      try {
        found = await withDeadline(deps.source.verifyPhoneAndNameDigests({ phoneHex, nameHex }), deps.sourceTimeoutMs);
      } catch (err) {
        deps.onError(err, ctx.requestId, "source");
        return answer("source-failure");
      }
      if (found.kind === "no-record") return answer("no-record");
      const counter = phoneAndNameCapKey(account.accountId, found.holder.phoneHash);
      if (!(await deps.dailyCounter.attempt([counter], account.dailyCap, chinaDate(ctx.now)))) return answer("over-cap");
      return answer(found.kind, ISP_NAMES[found.carrier]);
    };
    // A test-kit answer in place of the action's own: one or the other runs, so the one charge step charges once.
    return { admitted: true, answer: own, answerWith: (label: string) => scriptedCloudauth(ACTION, label, charge) };
  };
}
