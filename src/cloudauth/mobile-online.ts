/**
 * MobileOnlineStatus (MobileStatus's check) and MobileOnlineTime (MobileNetworkTimeVerification's), alibaba-cloudauth.md
 * §1.4, §6.5, §6.6: the same records, number rules and daily caps; MobileOnlineTime bills only an answer with a
 * TimeCode (§8.2), so its check runs with a table that does not charge -2 and -3. In md5 mode the number is found
 * by the digest kept at import, read through the same table, and counted against its check's daily cap under the
 * record's keyed number once found (nothing in the call names it before); no IspName.
 */
import type { ParamSchema } from "../api3/params";
import type { FaceIdDeps } from "../faceid/deps";
import { mobileNetworkTimeVerification, mobileStatus } from "../faceid/number-checks";
import { NETWORK_TIME_RESULTS } from "../faceid/results";
import { FROM_MOBILE_STATUS, FROM_NETWORK_TIME } from "./results";
import { md5Fields, refuseInput, resultKey, translated } from "./translated";
import type { ActionContext, ActionDefinition, ActionOutcome } from "../call/action";
import type { Admission } from "../call/answer-phase";
import { withDeadline } from "../common/deadline";
import { chargeStepFor } from "../faceid/admitted";
import { STATUS_CODES, tenureRange } from "../faceid/number-checks";
import { chinaDate } from "../rules/precheck";
import type { NumberDigestAnswer } from "../sources/contract";
import { numberCheckCapKey } from "../faceid/cap-keys";
import { admitAccount } from "../steps/admission";
import { failure, success } from "./answer";
import type { MappedResult } from "./results";
import { scriptedCloudauth } from "./scripted";
import type { CloudauthAction } from "./tariff";
import { ispOfNumber } from "./two-meta";

export const MOBILE_ONLINE_SCHEMA = {
  ParamType: { type: "String" },
  Mobile: { type: "String" },
} as const satisfies ParamSchema;

/** MobileNetworkTimeVerification's table as MobileOnlineTime charges it: no charge without a TimeCode. */
const ONLINE_TIME_CHARGES = {
  ...NETWORK_TIME_RESULTS,
  "-2": { ...NETWORK_TIME_RESULTS["-2"], charged: false },
  "-3": { ...NETWORK_TIME_RESULTS["-3"], charged: false },
};

/** The key of `table` for a number found (or not) by its digest, as FaceID's check would have answered it. */
type DigestKeyOf = (found: NumberDigestAnswer, todayChina: string) => string;
const statusKey: DigestKeyOf = (found) => (found.kind === "no-record" ? "-1" : `0/${STATUS_CODES[found.lineStatus ?? "normal"]}`);
const timeKey: DigestKeyOf = (found, today) => {
  if (found.kind === "no-record") return "-2";
  return found.networkSince === undefined ? "-3" : `0/${tenureRange(found.networkSince, today)}`;
};

/** `capName`: the FaceID check's, so one number has one cap whichever protocol or ParamType asks */
function hashedCheck(
  action: CloudauthAction,
  capName: string,
  table: Readonly<Record<string, MappedResult>>,
  keyOf: DigestKeyOf,
  deps: FaceIdDeps,
) {
  return async (params: { Mobile?: string }, ctx: ActionContext): Promise<Admission<ActionOutcome>> => {
    const account = await admitAccount(action, deps, ctx.caller, ctx.now);
    const charge = chargeStepFor(action, "simple", deps, ctx);
    const audit = { variant: "simple" };
    const answer = async (): Promise<ActionOutcome> => {
      const [hex] = md5Fields([params.Mobile ?? ""]) ?? [];
      if (hex === undefined) return failure("401", audit);
      let found: NumberDigestAnswer;
      try {
        found = await withDeadline(deps.source.lookUpNumberDigest("md5", hex), deps.sourceTimeoutMs);
      } catch (err) {
        deps.onError(err, ctx.requestId, "source");
        return failure("402", audit);
      }
      const today = chinaDate(ctx.now);
      // Counted once the record names the number, as a plaintext call is counted before its lookup (403 over the cap).
      if (found.kind === "on-record") {
        const counter = numberCheckCapKey(account.accountId, capName, found.phoneHash);
        if (!(await deps.dailyCounter.attempt([counter], account.dailyCap, today))) return failure("403", audit);
      }
      const mapped = table[keyOf(found, today)] ?? { code: "500" };
      if ("code" in mapped) return failure(mapped.code, audit);
      const billed = mapped.result.BizCode !== "3";
      // Charged answers are in the ledger before they are sent.
      if (billed) await charge.charge();
      return success({ ...mapped.result, IspName: "" }, billed, audit);
    };
    return { admitted: true, answer, answerWith: (label: string) => scriptedCloudauth(action, label, charge) };
  };
}

type HashedCheck = ReturnType<typeof hashedCheck>;
const md5Only =
  (check: HashedCheck) =>
  (params: { ParamType?: string; Mobile?: string }, ctx: ActionContext): ReturnType<HashedCheck> | undefined =>
    params.ParamType === "md5" ? check(params, ctx) : undefined;

export function mobileOnlineActions(deps: FaceIdDeps): ActionDefinition[] {
  const common = {
    deps,
    schema: MOBILE_ONLINE_SCHEMA,
    refuse: (p: { ParamType?: string; Mobile?: string }) => refuseInput(p.ParamType, [p.Mobile], true),
    fields: (p: { Mobile?: string }) => ({ Mobile: p.Mobile ?? "" }),
    extra: (p: { Mobile?: string }) => ({ IspName: ispOfNumber(p.Mobile, deps) }),
    // a digest names no number: the test kit matches md5 calls by account and action only
    subjects: (p: { ParamType?: string; Mobile?: string }) => (p.ParamType === "md5" ? {} : { phone: p.Mobile }),
  };
  return [
    translated({
      ...common,
      name: "MobileOnlineStatus",
      check: mobileStatus(deps, "MobileOnlineStatus"),
      keyOf: (outcome) => resultKey(outcome, "StatusCode"),
      table: FROM_MOBILE_STATUS,
      hashed: md5Only(hashedCheck("MobileOnlineStatus", "MobileStatus", FROM_MOBILE_STATUS, statusKey, deps)),
    }),
    translated({
      ...common,
      name: "MobileOnlineTime",
      check: mobileNetworkTimeVerification(deps, { action: "MobileOnlineTime", results: ONLINE_TIME_CHARGES }),
      keyOf: (outcome) => resultKey(outcome, "Range"),
      table: FROM_NETWORK_TIME,
      hashed: md5Only(hashedCheck("MobileOnlineTime", "MobileNetworkTimeVerification", FROM_NETWORK_TIME, timeKey, deps)),
    }),
  ];
}
