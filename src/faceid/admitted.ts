/**
 * A FaceID call its admission let through (call/answer-phase.ts): the action's own answer, or a Result of its table
 * a hook asked for, both charged through one charge step; and what to give back once answered.
 */
import type { Admission } from "../call/answer-phase";
import type { ActionContext, ActionOutcome } from "../call/action";
import { ChargeStep } from "../steps/charge";
import type { VerifyModeName } from "../store/model";
import type { FaceIdDeps } from "./deps";
import { scriptedAnswer } from "./scripted";
import { isFaceIdAction, priceOf } from "./tariff";

/** The call's charge step, at the action's price for its variant. */
export function chargeStepFor(action: string, mode: VerifyModeName, deps: FaceIdDeps, ctx: ActionContext): ChargeStep {
  return new ChargeStep(deps, ctx, action, mode, priceOf(deps.prices, action, mode));
}

export function admitted(
  action: string,
  charge: ChargeStep,
  ctx: ActionContext,
  answer: () => Promise<ActionOutcome>,
  release?: () => Promise<void>,
): Admission<ActionOutcome> {
  // Another product's action (Cloudauth's) scripts its answers in its own table, not FaceID's.
  const answerWith = isFaceIdAction(action) ? (result: string) => scriptedAnswer(action, result, charge, ctx) : undefined;
  return { admitted: true, answer, answerWith, release };
}
