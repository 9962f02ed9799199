/**
 * MobileStatus and MobileNetworkTimeVerification (faceid-family.md §3.5, §3.6, §7.11–14): what is known of one
 * number's line. Both, each with its own codes: admission (account state → rate limit → number → daily cap when the
 * number is one), then the answer (the number's rejection: malformed or segment -13; or source → charge).
 * `Mobile` may come encrypted in the `Encryption` object.
 */
import type { ParamSchema } from "../api3/params";
import { type ActionContext, type ActionDefinition, defineAction } from "../call/action";
import { maskPhone } from "../common/privacy";
import { chinaDate } from "../rules/precheck";
import { classifyPhone } from "../rules/phone";
import type { NumberAnswer } from "../sources/contract";
import { numberCheckCapKey } from "./cap-keys";
import type { LineStatus } from "../store/model";
import {
  MOBILE_STATUS_RESULTS,
  type MobileStatusResultCode,
  NETWORK_TIME_RESULTS,
  type NetworkTimeResultCode,
  type ResultInfo,
} from "./results";
import { answersFrom } from "./answer";
import { ENCRYPTION_PARAM } from "./field-decryption";
import { refused } from "../call/answer-phase";
import { withDeadline } from "../common/deadline";
import { admitAccount } from "../steps/admission";
import { admitted, chargeStepFor } from "./admitted";
import type { FaceIdDeps } from "./deps";

export const NUMBER_SCHEMA = {
  Mobile: { type: "String", required: true },
  Encryption: ENCRYPTION_PARAM,
} as const satisfies ParamSchema;
const ENCRYPTABLE = ["Mobile"] as const;

/** MobileStatus's StatusCode for a line status; 99 is "unknown", carried by every failure. */
export const STATUS_CODES: Readonly<Record<LineStatus, number>> = {
  normal: 0,
  suspended: 1,
  cancelled: 2,
  "not-on-network": 4,
  unusable: 5,
};
const UNKNOWN_STATUS = 99;

/** Tenure buckets in completed months (§7.11), the highest lower bound first: the first one reached is the bucket. */
const TENURE_BUCKETS: ReadonlyArray<readonly [number, string]> = [
  [24, "[24,+)"],
  [12, "[12,24)"],
  [6, "[6,12)"],
  [3, "[3,6)"],
  [0, "[0,3)"],
];

/** Completed calendar months from `since` (YYYY-MM-DD) to `todayChina` (YYYYMMDD). */
export function completedMonths(since: string, todayChina: string): number {
  const [y1 = 0, m1 = 0, d1 = 0] = since.split("-").map(Number);
  const [y2, m2, d2] = [Number(todayChina.slice(0, 4)), Number(todayChina.slice(4, 6)), Number(todayChina.slice(6, 8))];
  return Math.max(0, (y2 - y1) * 12 + (m2 - m1) - (d2 < d1 ? 1 : 0));
}

export function tenureRange(since: string, todayChina: string): string {
  const months = completedMonths(since, todayChina);
  // months is never negative: the last bucket, [0,3), takes what no other does
  return TENURE_BUCKETS.find(([from]) => months >= from)?.[1] ?? "[0,3)";
}

interface NumberCheck<C extends string> {
  /** FaceID's action, or another product's answered by this check (Cloudauth's MobileOnline*) */
  action: string;
  /** the daily cap's key: the FaceID check's name, so one number has one cap whichever protocol asks */
  capName: string;
  results: Readonly<Record<C, ResultInfo>>;
  codes: { malformed: C; busy: C; dailyCap: C; unsupported: C };
  /** the field beside Result and Description, and its value on a failure */
  field: string;
  failed: number | string;
  /** the answer for a number the source knows of, or does not */
  answer(found: NumberAnswer, todayChina: string): { result: C; value: number | string };
}

function numberCheck<C extends string>(spec: NumberCheck<C>, deps: FaceIdDeps): ActionDefinition {
  const answer = answersFrom(spec.results);
  const reply = (result: C, value: number | string, ctx: ActionContext, subject?: string) =>
    answer(result, ctx, subject, { [spec.field]: value });
  return defineAction({
    name: spec.action,
    schema: NUMBER_SCHEMA,
    async admit(params, ctx) {
      const account = await admitAccount(spec.action, deps, ctx.caller, ctx.now);
      const { Mobile } = await deps.fields.open(params, ENCRYPTABLE, params.Encryption, account, ctx);
      const phone = classifyPhone(Mobile, deps.tables.segments, deps.policy);
      const subject = maskPhone(phone.national);
      const charge = chargeStepFor(spec.action, "simple", deps, ctx);
      // A number that is not one is answered after admission, uncounted.
      if (phone.kind === "invalid")
        return admitted(spec.action, charge, ctx, async () => reply(spec.codes.malformed, spec.failed, ctx, subject));
      if (phone.kind === "unsupported")
        return admitted(spec.action, charge, ctx, async () => reply(spec.codes.unsupported, spec.failed, ctx, subject));
      const today = chinaDate(ctx.now);
      const counter = numberCheckCapKey(account.accountId, spec.capName, deps.keyring.hash("phone", phone.national));
      if (!(await deps.dailyCounter.attempt([counter], account.dailyCap, today))) {
        return refused(reply(spec.codes.dailyCap, spec.failed, ctx, subject));
      }
      return admitted(spec.action, charge, ctx, async () => {
        let found: NumberAnswer;
        try {
          found = await withDeadline(deps.source.lookUpNumber(phone.national), deps.sourceTimeoutMs);
        } catch (err) {
          deps.onError(err, ctx.requestId, "source");
          return reply(spec.codes.busy, spec.failed, ctx, subject);
        }
        const { result, value } = spec.answer(found, today);
        if (spec.results[result].charged) await charge.charge();
        return reply(result, value, ctx, subject);
      });
    },
    whenUnavailable: (_params, ctx) => reply(spec.codes.busy, spec.failed, ctx),
  });
}

/** `as`: another product's action answered by this check, priced and limited as itself. */
export function mobileStatus(deps: FaceIdDeps, as: string = "MobileStatus"): ActionDefinition {
  return numberCheck<MobileStatusResultCode>(
    {
      action: as,
      capName: "MobileStatus",
      results: MOBILE_STATUS_RESULTS,
      codes: { malformed: "-2", busy: "-3", dailyCap: "-4", unsupported: "-13" },
      field: "StatusCode",
      failed: UNKNOWN_STATUS,
      answer: (found) =>
        found.kind === "no-record"
          ? { result: "-1", value: UNKNOWN_STATUS }
          : { result: "0", value: STATUS_CODES[found.lineStatus ?? "normal"] },
    },
    deps,
  );
}

/**
 * `as`: another product's action answered by this check, priced and limited as itself, with its own table's charges
 * (Cloudauth's MobileOnlineTime bills no -2/-3).
 */
export function mobileNetworkTimeVerification(
  deps: FaceIdDeps,
  as: { action: string; results: Readonly<Record<NetworkTimeResultCode, ResultInfo>> } = {
    action: "MobileNetworkTimeVerification",
    results: NETWORK_TIME_RESULTS,
  },
): ActionDefinition {
  return numberCheck<NetworkTimeResultCode>(
    {
      action: as.action,
      capName: "MobileNetworkTimeVerification",
      results: as.results,
      codes: { malformed: "-1", busy: "-4", dailyCap: "-5", unsupported: "-13" },
      field: "Range",
      failed: "",
      answer: (found, today) => {
        if (found.kind === "no-record") return { result: "-2", value: "" };
        if (found.networkSince === undefined) return { result: "-3", value: "" };
        return { result: "0", value: tenureRange(found.networkSince, today) };
      },
    },
    deps,
  );
}
