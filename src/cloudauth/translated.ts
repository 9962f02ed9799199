/**
 * An Alibaba action answered by a FaceID check (alibaba-cloudauth.md §6): its fields renamed into the check's, the
 * check's admission and answer as they are (account, limit, rules, daily cap, source, charge), and the check's Result
 * read through the family's table. Refusals of the input itself (missing fields, ParamType) come first.
 */
import type { ParamSchema, ParamsOf, ParamValues } from "../api3/params";
import { type ActionContext, type ActionDefinition, type ActionOutcome, defineAction } from "../call/action";
import { type Admission, refused } from "../call/answer-phase";
import type { CallSubjects } from "../call/hooks";
import { failure, success } from "./answer";
import type { MappedResult } from "./results";
import { chargeStepFor } from "../faceid/admitted";
import type { FaceIdDeps } from "../faceid/deps";
import { scriptedCloudauth } from "./scripted";
import type { CloudauthAction } from "./tariff";

export interface Translation<S extends ParamSchema> {
  name: CloudauthAction;
  deps: FaceIdDeps;
  schema: S;
  /** the FaceID check, named as this action (its price, its limit, its ledger rows) */
  check: ActionDefinition;
  /** a refusal of the input before anything else, or undefined */
  refuse(params: ParamsOf<S>): ActionOutcome | undefined;
  /** the check's parameters from this action's (recovered first, for Id2Meta's partial md5 form) */
  fields(params: ParamsOf<S>): ParamValues | Promise<ParamValues>;
  /** the key of the check's answer in `table` (its Result, with a field where the table needs one) */
  keyOf(outcome: ActionOutcome): string;
  table: Readonly<Record<string, MappedResult>>;
  /** ResultObject members beside the table's (IspName) */
  extra?(params: ParamsOf<S>): Record<string, string>;
  subjects?(params: ParamsOf<S>): CallSubjects;
  /** ParamType md5, where the action serves it: its own admission (no FaceID check takes digests); undefined otherwise */
  hashed?(params: ParamsOf<S>, ctx: ActionContext): Promise<Admission<ActionOutcome>> | undefined;
}

export function translated<S extends ParamSchema>(t: Translation<S>): ActionDefinition {
  const read = (outcome: ActionOutcome, params: ParamsOf<S>): ActionOutcome => {
    const mapped = t.table[t.keyOf(outcome)] ?? { code: "500" };
    if ("code" in mapped) return failure(mapped.code, outcome.audit);
    return success({ ...mapped.result, ...t.extra?.(params) }, outcome.billable, outcome.audit);
  };
  return defineAction({
    name: t.name,
    schema: t.schema,
    async admit(params, ctx) {
      const refusal = t.refuse(params);
      if (refusal) return refused(refusal);
      const hashed = t.hashed?.(params, ctx);
      if (hashed) return hashed;
      const admission = await t.check.admit(await t.fields(params), ctx);
      if (!admission.admitted) return refused(read(admission.refusal, params));
      // A test-kit answer never runs the check's own, so a charge step of its own charges it at most once.
      const answerWith = (label: string) => scriptedCloudauth(t.name, label, chargeStepFor(t.name, "simple", t.deps, ctx));
      return { ...admission, answer: async () => read(await admission.answer(), params), answerWith };
    },
    whenUnavailable: () => failure("402"),
    subjects: t.subjects,
  });
}

/** The Result of a FaceID answer, with one of its fields when the table is keyed by both (`0/[24,+)`). */
export function resultKey(outcome: ActionOutcome, field?: string): string {
  const result = String(outcome.fields.Result);
  return field !== undefined && result === "0" ? `${result}/${String(outcome.fields[field])}` : result;
}

/** A field in md5 mode: 32 hex characters, either case (§8.5). */
export const MD5_HEX = /^[0-9a-fA-F]{32}$/;

/** The longest md5-mode field read, before it is trimmed. */
const MAX_DIGEST_INPUT = 64;

/** md5-mode fields as lower-case hex, trimmed (§8.5); undefined when one is no MD5 digest. */
export function md5Fields(given: readonly string[]): string[] | undefined {
  if (given.some((d) => d.length > MAX_DIGEST_INPUT)) return undefined;
  const digests = given.map((d) => d.trim());
  return digests.every((d) => MD5_HEX.test(d)) ? digests.map((d) => d.toLowerCase()) : undefined;
}

/** The common refusal of these actions' inputs (§1.2, §8.6): every field present, ParamType normal (or md5 where served). */
export function refuseInput(
  paramType: string | undefined,
  fields: ReadonlyArray<string | undefined>,
  md5Served = false,
): ActionOutcome | undefined {
  if (paramType === undefined || paramType === "" || fields.some((f) => f === undefined || f === "")) return failure("400");
  if (paramType === "sm2") return failure("401", undefined, "参数非法：ParamType sm2 is not served by this server");
  if (paramType === "md5" && md5Served) return undefined;
  if (paramType === "md5") return failure("401", undefined, "参数非法：ParamType md5 is not served for this action by this server");
  if (paramType !== "normal") return failure("401");
  return undefined;
}
