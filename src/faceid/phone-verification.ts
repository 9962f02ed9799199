/**
 * FaceID PhoneVerification (2018-03-01). The check order of phone-verification.md, as one sequence:
 * parameters → account state → rate limit → field decryption → pre-check → daily limit → source → charge.
 */
import { ApiError } from "../api3/errors";
import type { ParamSchema, ParamsOf } from "../api3/params";
import { defineAction, type ActionContext, type ActionDefinition, type ActionOutcome } from "../api3/router";
import type { DailyCounter, RateLimiter } from "../limits/contract";
import { maskPhone } from "../common/privacy";
import { chinaDate, precheck } from "../rules/precheck";
import type { PrecheckPolicy } from "../rules/policy";
import type { Carrier, RuleTables } from "../rules/tables";
import type { Keyring } from "../common/keyring";
import type { ResultDetail, SourceAnswer, VerificationSource } from "../sources/contract";
import type { VerifyModeName } from "../store/model";
import type { Accounts, Ledger } from "../store/storage";
import type { KeyService } from "../kms/keys";
import { refuseUnusableAccount } from "./account-state";
import { decryptFields } from "./field-decryption";
import { UnavailableError } from "../common/unavailable";
import { describe, ispName, RESULTS, type ResultCode } from "./results";

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

type PhoneVerificationParams = ParamsOf<typeof PHONE_VERIFICATION_SCHEMA>;

export interface PhoneVerificationDeps {
  tables: RuleTables;
  policy: PrecheckPolicy;
  source: VerificationSource;
  accounts: Pick<Accounts, "get">;
  ledger: Pick<Ledger, "charge">;
  keyring: Keyring;
  keys: KeyService;
  rateLimiter: RateLimiter;
  dailyCounter: DailyCounter;
  /** fen per charged answer */
  prices: Readonly<Record<VerifyModeName, number>>;
  /** how long the source may take before the answer is -11 */
  sourceTimeoutMs: number;
  /** a failure that the caller sees only as a code: the source (-11) or the ledger (FailedOperation.UnKnown) */
  onError: (err: unknown, requestId: string, stage: "source" | "ledger") => void;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`source exceeded its ${ms} ms budget`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export function phoneVerification(deps: PhoneVerificationDeps): ActionDefinition {
  return defineAction({
    name: ACTION,
    schema: PHONE_VERIFICATION_SCHEMA,
    handle: verify,
    // PostgreSQL, Redis or the counters away: the verification path cannot be completed (-11, uncharged).
    whenUnavailable(values: PhoneVerificationParams, ctx: ActionContext): ActionOutcome {
      const mode: VerifyModeName = values.VerifyMode === "1" ? "detailed" : "simple";
      return {
        fields: { Result: "-11", Description: describe("-11", ctx.language), Isp: "" },
        billable: false,
        result: "-11",
        audit: { variant: mode },
      };
    },
  });

  async function verify(params: PhoneVerificationParams, ctx: ActionContext): Promise<ActionOutcome> {
    const verifyMode = params.VerifyMode ?? "0";
    if (verifyMode !== "0" && verifyMode !== "1") throw new ApiError("InvalidParameterValue", 'VerifyMode must be "0" or "1".');
    const mode: VerifyModeName = verifyMode === "1" ? "detailed" : "simple";
    const { accountId, secretId } = ctx.caller;

    const account = await deps.accounts.get(accountId);
    if (!account) throw new ApiError("AuthFailure.SecretIdNotFound");
    refuseUnusableAccount(account);
    if (!(await deps.rateLimiter.admit(`${accountId}:${ACTION}`, account.rateLimit, ctx.now))) {
      throw new ApiError("RequestLimitExceeded");
    }
    const elements = await decryptFields(params, account, deps.keys);

    const today = chinaDate(ctx.now);
    const checked = precheck({ phone: elements.Phone, name: elements.Name, idCard: elements.IdCard }, deps.tables, deps.policy, today);
    const audit = { subject: maskPhone(checked.phone), variant: mode };
    const answer = (result: ResultCode, carrier: Carrier, detail?: ResultDetail): ActionOutcome => {
      const fields: Record<string, unknown> = {
        Result: result,
        Description: describe(result, ctx.language),
        Isp: ispName(carrier, ctx.language),
      };
      if (mode === "detailed" && result === "-4") fields.ResultDetail = detail ?? "OtherMismatch";
      return { fields, billable: RESULTS[result].charged, result, audit };
    };

    if (checked.kind === "rejected") return answer(checked.result, checked.carrier);

    const counters = [
      `${accountId}:phone:${deps.keyring.hash("phone", checked.phone).toString("base64url")}`,
      `${accountId}:idcard:${deps.keyring.hash("idcard", checked.idCard).toString("base64url")}`,
    ];
    if (!(await deps.dailyCounter.attempt(counters, account.dailyCap, today))) return answer("-12", checked.carrier);

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
    if (found.kind === "no-record") return answer("-9", checked.carrier);
    const outcome =
      found.kind === "consistent"
        ? answer("0", found.carrier || checked.carrier)
        : answer("-4", found.carrier || checked.carrier, found.detail);

    // Charged answers are in the ledger, with the balance debited, before they are sent (check 9).
    try {
      await deps.ledger.charge({
        requestId: ctx.requestId,
        accountId,
        secretId,
        action: ACTION,
        mode,
        unitPrice: deps.prices[mode],
        at: ctx.now,
      });
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      deps.onError(err, ctx.requestId, "ledger");
      throw new ApiError("FailedOperation.UnKnown");
    }
    return outcome;
  }
}
