/**
 * An action's two phases and the hook between them (hooks.ts): admission, then beforeAnswer, then the answer. Every
 * protocol answers an action through answerPhase, so no hook that can answer ever sees a call admission refused.
 */
import type { AdmittedCall, CallHooks, TakenCall } from "./hooks";

/** What an action's admission gives back: the call admitted, with its ways to answer, or the answer refusing it. */
export type Admission<O> =
  | {
      admitted: true;
      /** the action's own answer (pre-checks, source, charge) */
      answer(): Promise<O>;
      /** a Result of the action's table instead, charged through the same charge step; absent: the action has no table */
      answerWith?(result: string): Promise<O>;
      /** gives back what admission set aside and the answer did not use (a budget reservation); runs once, always */
      release?(): Promise<void>;
    }
  | { admitted: false; refusal: O };

export function refused<O>(refusal: O): Admission<O> {
  return { admitted: false, refusal };
}

/** How the call ends: an answer (the action's, or one a hook asked for), an error code, or a transport fault. */
export type Answered<O> =
  | { kind: "answer"; outcome: O; takenBy?: string }
  | { kind: "error"; code: string; takenBy: string }
  | { kind: "fault"; fault: "reset" | "hang"; takenBy: string };

export async function answerPhase<O>(
  admission: Admission<O>,
  beforeAnswer: CallHooks<unknown>["beforeAnswer"],
  call: () => AdmittedCall,
): Promise<Answered<O>> {
  if (!admission.admitted) return { kind: "answer", outcome: admission.refusal };
  try {
    const taking = beforeAnswer?.(call());
    const taken = taking && (await taking);
    if (!taken) return { kind: "answer", outcome: await admission.answer() };
    return await intervened(admission, taken);
  } finally {
    // awaited only when there is one: `await undefined` would cost every call without a release a turn
    const releasing = admission.release?.();
    if (releasing) await releasing;
  }
}

async function intervened<O>(admitted: Extract<Admission<O>, { admitted: true }>, { by, intervention }: TakenCall): Promise<Answered<O>> {
  switch (intervention.kind) {
    case "result":
      // The test kit accepts a Result only for an action whose table has it; anything else is a defect here.
      if (!admitted.answerWith) throw new Error(`a Result was asked of an action without a result table (${by})`);
      return { kind: "answer", outcome: await admitted.answerWith(intervention.result), takenBy: by };
    case "error":
      return { kind: "error", code: intervention.code, takenBy: by };
    case "reset":
    case "hang":
      return { kind: "fault", fault: intervention.kind, takenBy: by };
    case "delay":
      await new Promise((resolve) => setTimeout(resolve, intervention.ms));
      return { kind: "answer", outcome: await admitted.answer(), takenBy: by };
  }
}
