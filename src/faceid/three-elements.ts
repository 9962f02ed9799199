/**
 * The check order every three-element action shares (phone-verification.md; faceid-family.md §3.2), in its two
 * phases (call/hooks.ts):
 *   admission: account state → rate limit → field decryption → pre-check → daily cap (when the pre-check passed)
 *   answer:    the pre-check's rejection, or source → carrier → charge.
 * An action brings its name, its result table, the carrier it serves (if one) and whether a daily cap applies.
 */
import type { Admission } from "../call/answer-phase";
import { refused } from "../call/answer-phase";
import type { ActionContext, ActionOutcome } from "../call/action";
import { withDeadline } from "../common/deadline";
import { maskPhone } from "../common/privacy";
import { chinaDate, precheck } from "../rules/precheck";
import type { Carrier } from "../rules/tables";
import type { ResultDetail, SourceAnswer } from "../sources/contract";
import { admitAccount } from "../steps/admission";
import type { Account, VerifyModeName } from "../store/model";
import { admitted, chargeStepFor } from "./admitted";
import { threeElementCapKeys } from "./cap-keys";
import type { FaceIdDeps } from "./deps";
import type { ThreeFields } from "./field-decryption";
import { describeIn, ispName, type ResultCode, type ResultInfo } from "./results";

export interface ThreeElementSpec {
  /** FaceID's action, or another product's answered by the same check (Cloudauth's Mobile3Meta*) */
  action: string;
  results: Readonly<Partial<Record<ResultCode, ResultInfo>>>;
  /** numbers of any other carrier answer -13 (faceid-family.md §7.2) */
  carrier?: Carrier;
  /** attempts per number and identity number are capped a day, answered -12 */
  dailyCap: boolean;
  /** the carrier's field in the answer: `Isp`, or `ISP` (EncryptedPhoneVerification) */
  ispField?: "Isp" | "ISP";
  /** the action's own code for a pre-check rejection, where its table numbers them differently */
  rejectedAs?: Readonly<Partial<Record<ResultCode, ResultCode>>>;
}

export interface ThreeElementCall {
  mode: VerifyModeName;
  /** PhoneVerification's VerifyMode 1: a -4 says which element disagrees */
  resultDetail: boolean;
  /** the three fields as the caller meant them, once the account may decrypt them */
  elements: (account: Account) => Promise<Readonly<ThreeFields>>;
}

export function threeElementCheck(spec: ThreeElementSpec, deps: FaceIdDeps) {
  const ispField = spec.ispField ?? "Isp";
  const info = (result: ResultCode): ResultInfo => {
    const found = spec.results[result];
    if (!found) throw new Error(`${spec.action} has no Result ${result}`);
    return found;
  };

  /** The answer when a dependency is away: -11, uncharged. */
  function unavailable(mode: VerifyModeName, ctx: ActionContext): ActionOutcome {
    return {
      fields: { Result: "-11", Description: describeIn(info("-11"), ctx.language), [ispField]: "" },
      billable: false,
      result: "-11",
      audit: { variant: mode },
      signal: info("-11").signal,
    };
  }

  async function admit(call: ThreeElementCall, ctx: ActionContext): Promise<Admission<ActionOutcome>> {
    const { mode } = call;
    const account = await admitAccount(spec.action, deps, ctx.caller, ctx.now);
    const elements = await call.elements(account);

    const today = chinaDate(ctx.now);
    const checked = precheck({ phone: elements.Phone, name: elements.Name, idCard: elements.IdCard }, deps.tables, deps.policy, today);
    const audit = { subject: maskPhone(checked.phone), variant: mode };
    const answer = (result: ResultCode, carrier: Carrier, detail?: ResultDetail): ActionOutcome => {
      const fields: Record<string, unknown> = {
        Result: result,
        Description: describeIn(info(result), ctx.language),
        [ispField]: ispName(carrier, ctx.language),
      };
      if (call.resultDetail && result === "-4") fields.ResultDetail = detail ?? "OtherMismatch";
      return { fields, billable: info(result).charged, result, audit, signal: info(result).signal };
    };
    const charge = chargeStepFor(spec.action, mode, deps, ctx);

    // A rejected input is not counted against the daily cap: its answer comes in the answer phase.
    if (checked.kind === "rejected") {
      const rejection = answer(spec.rejectedAs?.[checked.result] ?? checked.result, checked.carrier);
      return admitted(spec.action, charge, ctx, async () => rejection);
    }
    if (spec.dailyCap) {
      const counters = threeElementCapKeys(
        account.accountId,
        deps.keyring.hash("phone", checked.phone),
        deps.keyring.hash("idcard", checked.idCard),
      );
      if (!(await deps.dailyCounter.attempt(counters, account.dailyCap, today))) return refused(answer("-12", checked.carrier));
    }

    return admitted(spec.action, charge, ctx, async () => {
      let found: SourceAnswer;
      try {
        found = await withDeadline(
          deps.source.verify({ phone: checked.phone, name: checked.name, idCard: checked.idCard }),
          deps.sourceTimeoutMs,
        );
      } catch (err) {
        deps.onError(err, ctx.requestId, "source");
        return answer("-11", checked.carrier);
      }
      // A number on record is of the record's carrier (it may have been ported), else of its segment's.
      const carrier = (found.kind !== "no-record" && found.carrier) || checked.carrier;
      if (spec.carrier !== undefined && carrier !== spec.carrier) return answer("-13", carrier);
      if (found.kind === "no-record") return answer("-9", carrier);
      const outcome = found.kind === "consistent" ? answer("0", carrier) : answer("-4", carrier, found.detail);
      // Charged answers are in the ledger, with the balance debited, before they are sent.
      await charge.charge();
      return outcome;
    });
  }

  return { admit, unavailable };
}
