/**
 * Routing a call to (service, version, action): the product the Host's first label names, else the TC3 scope's
 * service, else the one product that has the version and action.
 */
import type { AuditDetail } from "../common/audit";
import { ApiError, type Language } from "./errors";
import type { Caller } from "./authenticate";
import type { ParamSchema, ParamsOf, ParamValues } from "./params";
import type { Admission } from "../call/answer-phase";
import type { CallFacts, CallSubjects, OutcomeSignal } from "../call/hooks";

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

/** What a region's name looks like (ap-guangzhou, na-siliconvalley, ap-shanghai-fsi-1): anything else is no region. */
export const REGION_NAME = /^[a-z]{2}-[a-z]+(?:-[a-z]+)*(?:-\d+)?$/;

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

export interface Product {
  service: string;
  versions: ReadonlyMap<string, ReadonlyMap<string, ActionDefinition>>;
}

export interface Route {
  service: string;
  version: string;
  action: ActionDefinition;
}

export class Router {
  private readonly products = new Map<string, Product>();
  /** what test keys are served instead, by service (the test kit: fixtures only, the test ledger) */
  private readonly forTestKeys = new Map<string, Product>();

  register(product: Product, forTestKeys?: Product): this {
    this.products.set(product.service, product);
    if (forTestKeys) this.forTestKeys.set(product.service, forTestKeys);
    return this;
  }

  /** every action name served, in any product and version (the closed set metrics label by) */
  actionNames(): Set<string> {
    return new Set(this.actions().keys());
  }

  /** every action served, by name (the newest version's where versions share a name) */
  actions(): Map<string, ActionDefinition> {
    const all = new Map<string, ActionDefinition>();
    for (const product of this.products.values()) {
      for (const actions of product.versions.values()) for (const [name, action] of actions) all.set(name, action);
    }
    return all;
  }

  resolve(host: string, caller: Caller, version: string, action: string): Route {
    const found = this.findProduct(host, caller, version, action);
    const product = (caller.test && this.forTestKeys.get(found.service)) || found;
    const actions = product.versions.get(version);
    if (!actions) throw new ApiError("NoSuchVersion");
    const definition = actions.get(action);
    if (!definition) throw new ApiError("InvalidAction");
    return { service: product.service, version, action: definition };
  }

  private findProduct(host: string, caller: Caller, version: string, action: string): Product {
    const hostLabel = host.toLowerCase().replace(/:\d+$/, "").split(".")[0] ?? "";
    const byHost = this.products.get(hostLabel);
    if (byHost) return byHost;
    // Never reject because the scope differs from the routed product: the Node SDK derives it from the endpoint.
    const byScope = caller.scopeService ? this.products.get(caller.scopeService) : undefined;
    if (byScope) return byScope;
    for (const product of this.products.values()) {
      if (product.versions.get(version)?.has(action)) return product;
    }
    throw new ApiError("NoSuchProduct");
  }
}
