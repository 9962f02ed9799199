/** An action's answer from its result table: Result, Description in the caller's language, and the action's fields. */
import type { ActionContext, ActionOutcome } from "../call/action";
import { describeIn, type ResultInfo } from "./results";

export type Answer<C extends string> = (result: C, ctx: ActionContext, subject?: string, fields?: Record<string, unknown>) => ActionOutcome;

export function answersFrom<C extends string>(table: Readonly<Record<C, ResultInfo>>): Answer<C> {
  return (result, ctx, subject, fields) => {
    const info = table[result];
    return {
      fields: { Result: result, Description: describeIn(info, ctx.language), ...fields },
      billable: info.charged,
      result,
      audit: { subject, variant: "simple" },
      signal: info.signal,
    };
  };
}
