/**
 * What a product's action is to any protocol that serves it (API 3.0's api3/, Alibaba's aliyun/): its schema, its
 * admission and answer (answer-phase.ts), what it tells the protocol besides its fields, and the context a call
 * gives it. Here rather than in a protocol's folder, since both protocols serve the same actions; the caller, the
 * language and the parameter schema it names still live in api3/, which both protocols share today.
 */
import type { Caller } from "../api3/authenticate";
import type { Language } from "../api3/errors";
import type { ParamSchema, ParamsOf, ParamValues } from "../api3/params";
import type { AuditDetail } from "../common/audit";
import type { Admission } from "./answer-phase";
import type { CallFacts, CallSubjects, OutcomeSignal } from "./hooks";

export interface ActionContext {
  requestId: string;
  language: Language;
  caller: Caller;
  /** the server clock, in milliseconds */
  now: number;
  region: string | undefined;
}

/** What an action tells the protocol layer besides its response fields. */
export interface ActionOutcome {
  fields: Record<string, unknown>;
  billable: boolean;
  /** the Result code, for actions that have one (audit, logs, metrics) */
  result?: string;
  /** the action's own part of the audit row and log line, already masked; passed through unread */
  audit?: AuditDetail;
  /** what the answer means for the operators' metrics, whatever the action's own code for it */
  signal?: OutcomeSignal;
  /** gateway mode's cache of paid answers: this answer came from it, or went upstream and was kept */
  cache?: "hit" | "miss";
}

export interface ActionDefinition {
  name: string;
  schema: ParamSchema;
  /**
   * for regional actions: the regions served (a missing Region is MissingParameter, a region's name not served
   * UnsupportedRegion, text that is no region's name InvalidParameterValue)
   */
  regions?: ReadonlySet<string>;
  /**
   * The admission phase: what every answer of the action would have met. A refusal is thrown (ApiError) or given
   * back as the action's answer; an admitted call carries its answer phase (call/answer-phase.ts).
   */
  admit(params: ParamValues, ctx: ActionContext): Promise<Admission<ActionOutcome>>;
  /** how the action answers when a dependency is away (UnavailableError); without it the call is ServiceUnavailable */
  whenUnavailable?(params: ParamValues, ctx: ActionContext): ActionOutcome;
  subjects?(params: ParamValues): CallSubjects;
  facts?(params: ParamValues): CallFacts;
}

interface TypedActionBase<S extends ParamSchema> {
  name: string;
  schema: S;
  regions?: ReadonlySet<string>;
  whenUnavailable?(params: ParamsOf<S>, ctx: ActionContext): ActionOutcome;
  subjects?(params: ParamsOf<S>): CallSubjects;
  facts?(params: ParamsOf<S>): CallFacts;
}

/**
 * An action as its product writes it, the handler receiving the values its own schema describes: its two phases
 * (`admit`), or — for an action every call is admitted to, such as KMS's — its answer alone (`handle`).
 */
export type TypedAction<S extends ParamSchema> = TypedActionBase<S> &
  (
    | { admit(params: ParamsOf<S>, ctx: ActionContext): Promise<Admission<ActionOutcome>>; handle?: never }
    | { handle(params: ParamsOf<S>, ctx: ActionContext): Promise<ActionOutcome>; admit?: never }
  );

/**
 * Registers a typed action. The pipeline hands an action only values validated against its schema, so this is the
 * one place that tells the compiler they have the schema's shape.
 */
export function defineAction<S extends ParamSchema>(action: TypedAction<S>): ActionDefinition {
  const typed = (values: ParamValues) => values as unknown as ParamsOf<S>;
  const { whenUnavailable, subjects, facts } = action;
  let admit: ActionDefinition["admit"];
  if (action.admit) {
    const own = action.admit.bind(action);
    admit = (values, ctx) => own(typed(values), ctx);
  } else {
    const handle = action.handle.bind(action);
    admit = async (values, ctx) => ({ admitted: true, answer: () => handle(typed(values), ctx) });
  }
  return {
    name: action.name,
    schema: action.schema,
    regions: action.regions,
    admit,
    whenUnavailable: whenUnavailable && ((values, ctx) => whenUnavailable.call(action, typed(values), ctx)),
    subjects: subjects && ((values) => subjects.call(action, typed(values))),
    facts: facts && ((values) => facts.call(action, typed(values))),
  };
}
