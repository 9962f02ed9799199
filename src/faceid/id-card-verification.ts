/**
 * IdCardVerification (faceid-family.md §3.7): do this identity number and this name belong together? Its order:
 * account state → rate limit → identity number (-2) → name (-3) → daily cap (-7) → source → charge; admission ends
 * with the daily cap, counted only for inputs that passed their checks. The records
 * source answers from every record that carries the identity number. Both fields may come encrypted in the `Encryption` object.
 */
import type { ParamSchema } from "../api3/params";
import { type ActionDefinition, defineAction } from "../call/action";
import { checkIdCard } from "../rules/idcard";
import { checkName } from "../rules/name";
import { chinaDate } from "../rules/precheck";
import type { IdCardAndNameAnswer } from "../sources/contract";
import { answersFrom } from "./answer";
import { ENCRYPTION_PARAM } from "./field-decryption";
import { ID_CARD_RESULTS, type IdCardResultCode } from "./results";
import { refused } from "../call/answer-phase";
import { withDeadline } from "../common/deadline";
import { admitAccount } from "../steps/admission";
import { admitted, chargeStepFor } from "./admitted";
import type { FaceIdDeps } from "./deps";

export const ID_CARD_VERIFICATION = "IdCardVerification";

export const ID_CARD_VERIFICATION_SCHEMA = {
  IdCard: { type: "String", required: true },
  Name: { type: "String", required: true },
  Encryption: ENCRYPTION_PARAM,
} as const satisfies ParamSchema;
const ENCRYPTABLE = ["IdCard", "Name"] as const;

/** `name`: another product's action answered by this check (Cloudauth's Id2Meta*), priced and limited as itself. */
export function idCardVerification(deps: FaceIdDeps, name: string = ID_CARD_VERIFICATION): ActionDefinition {
  // No phone in this action: the audit row has no subject (a masked identity number would still narrow it).
  const answer = answersFrom(ID_CARD_RESULTS);
  return defineAction({
    name,
    schema: ID_CARD_VERIFICATION_SCHEMA,
    async admit(params, ctx) {
      const account = await admitAccount(name, deps, ctx.caller, ctx.now);
      const given = await deps.fields.open(params, ENCRYPTABLE, params.Encryption, account, ctx);
      const today = chinaDate(ctx.now);
      const charge = chargeStepFor(name, "simple", deps, ctx);
      const answered = (code: IdCardResultCode) => admitted(name, charge, ctx, async () => answer(code, ctx));
      // Inputs that are not well formed are answered after admission, uncounted.
      const id = checkIdCard(given.IdCard, today, deps.tables.regionPrefixes, deps.policy);
      if (id.kind === "invalid") return answered("-2");
      const checkedName = checkName(given.Name, deps.policy);
      if (checkedName.kind === "invalid") return answered("-3");

      const counter = `${account.accountId}:${ID_CARD_VERIFICATION}:${deps.keyring.hash("idcard", id.id18).toString("base64url")}`;
      if (!(await deps.dailyCounter.attempt([counter], account.dailyCap, today))) return refused(answer("-7", ctx));

      return admitted(name, charge, ctx, async () => {
        let found: IdCardAndNameAnswer;
        try {
          found = await withDeadline(
            deps.source.verifyIdCardAndName({ idCard: id.id18, name: checkedName.normalized }),
            deps.sourceTimeoutMs,
          );
        } catch (err) {
          deps.onError(err, ctx.requestId, "source");
          return answer("-4", ctx);
        }
        if (found.kind === "no-record") return answer("-5", ctx);
        await charge.charge();
        return answer(found.kind === "consistent" ? "0" : "-1", ctx);
      });
    },
    // PostgreSQL, Redis or the counters away: the identity database's service is abnormal (-4, uncharged).
    whenUnavailable: (_params, ctx) => answer("-4", ctx),
  });
}
