/**
 * The check order every three-element action shares (phone-verification.md; faceid-family.md §3.2):
 * account state → rate limit → field decryption → pre-check → daily cap → source → carrier → charge.
 * An action brings its name, its result table, the carrier it serves (if one) and whether a daily cap applies.
 */
import { ApiError } from "../api3/errors";
import type { ActionContext, ActionOutcome } from "../api3/router";
import type { Keyring } from "../common/keyring";
import { maskPhone } from "../common/privacy";
import { UnavailableError } from "../common/unavailable";
import type { DailyCounter, RateLimiter } from "../limits/contract";
import type { PrecheckPolicy } from "../rules/policy";
import { chinaDate, precheck } from "../rules/precheck";
import type { Carrier, RuleTables } from "../rules/tables";
import type { ResultDetail, SourceAnswer, VerificationSource } from "../sources/contract";
import type { Account, VerifyModeName } from "../store/model";
import type { Accounts, Ledger } from "../store/storage";
import type { FieldOpener, ThreeFields } from "./field-decryption";
import { refuseUnusableAccount } from "./account-state";
import { type PriceTable, priceOf } from "./tariff";
import { describeIn, ispName, type ResultCode, type ResultInfo } from "./results";

export interface ThreeElementDeps {
  tables: RuleTables;
  policy: PrecheckPolicy;
  source: VerificationSource;
  accounts: Pick<Accounts, "get">;
  ledger: Pick<Ledger, "charge">;
  keyring: Keyring;
  /** opens encrypted request fields (KMS or public-key envelope) */
  fields: FieldOpener;
  rateLimiter: RateLimiter;
  dailyCounter: DailyCounter;
  /** fen per charged answer, by action and variant */
  prices: PriceTable;
  /** how long the source may take before the answer is -11 */
  sourceTimeoutMs: number;
  /** a failure that the caller sees only as a code: the source (-11) or the ledger (FailedOperation.UnKnown) */
  onError: (err: unknown, requestId: string, stage: "source" | "ledger") => void;
}

export interface ThreeElementSpec {
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

export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`source exceeded its ${ms} ms budget`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The account behind the key, refused when it cannot be served or is over its per-second limit for the action. */
export async function admitCaller(action: string, deps: ThreeElementDeps, ctx: ActionContext): Promise<Account> {
  const { accountId } = ctx.caller;
  const account = await deps.accounts.get(accountId);
  if (!account) throw new ApiError("AuthFailure.SecretIdNotFound");
  refuseUnusableAccount(account);
  const limit = account.rateLimits[action] ?? account.rateLimit;
  if (!(await deps.rateLimiter.admit(`${accountId}:${action}`, limit, ctx.now))) {
    throw new ApiError("RequestLimitExceeded");
  }
  return account;
}

/** The ledger row and the debit, committed before the charged answer is sent. */
export async function chargeFor(
  action: string,
  mode: VerifyModeName,
  deps: ThreeElementDeps,
  ctx: ActionContext,
  upstreamRequestId?: string,
): Promise<void> {
  try {
    await deps.ledger.charge({
      upstreamRequestId,
      requestId: ctx.requestId,
      accountId: ctx.caller.accountId,
      secretId: ctx.caller.secretId,
      action,
      mode,
      unitPrice: priceOf(deps.prices, action, mode),
      at: ctx.now,
    });
  } catch (err) {
    if (err instanceof UnavailableError) throw err;
    deps.onError(err, ctx.requestId, "ledger");
    throw new ApiError("FailedOperation.UnKnown");
  }
}

export function threeElementCheck(spec: ThreeElementSpec, deps: ThreeElementDeps) {
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

  async function check(call: ThreeElementCall, ctx: ActionContext): Promise<ActionOutcome> {
    const { mode } = call;
    const { accountId } = ctx.caller;
    const account = await admitCaller(spec.action, deps, ctx);
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

    if (checked.kind === "rejected") return answer(spec.rejectedAs?.[checked.result] ?? checked.result, checked.carrier);

    if (spec.dailyCap) {
      const counters = [
        `${accountId}:phone:${deps.keyring.hash("phone", checked.phone).toString("base64url")}`,
        `${accountId}:idcard:${deps.keyring.hash("idcard", checked.idCard).toString("base64url")}`,
      ];
      if (!(await deps.dailyCounter.attempt(counters, account.dailyCap, today))) return answer("-12", checked.carrier);
    }

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
    await chargeFor(spec.action, mode, deps, ctx);
    return outcome;
  }

  return { check, unavailable };
}
