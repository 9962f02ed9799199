/**
 * One API 3.0 call from raw request to envelope, in the check order of api3-protocol.md §7.1:
 * method, signature style and content type, common parameters, authentication, routing, language,
 * body and schema, then the action. Nothing here knows about sockets; http/handler.ts feeds it. The body is asked
 * for only once the headers have passed every check they can (a TC3 call with an unknown key is never read).
 */
import { newRequestId } from "./request-id";
import type { AuditDetail } from "../common/audit";
import { ApiError, type ErrorCode, type Language } from "./errors";
import { v1Algorithm } from "./v1";
import { authenticateV1, beginTc3, type Caller, type KeyResolver, type RequestHead } from "./authenticate";
import { COMMON_PARAMS, decodeForm, isPlainObject, validateFlatParams, validateJsonParams, type ParamValues } from "./params";
import type { ActionContext, ActionDefinition, ActionOutcome, CallFacts, OutcomeSignal, Router } from "./router";
import type { ScenarioEffect, ScenarioHook } from "./scenarios";
import { UnavailableError } from "../common/unavailable";

export interface PipelineDeps {
  router: Router;
  keys: KeyResolver;
  /** milliseconds since the epoch; injectable so tests can replay signed vectors at their own time */
  clock: () => number;
  defaultLanguage: Language;
  onInternalError: (err: unknown, requestId: string) => void;
  /** PostgreSQL or Redis did not answer: the caller gets ServiceUnavailable */
  onUnavailable: (err: UnavailableError, requestId: string) => void;
  /** the test kit's scenarios, when the installation has the operations API */
  scenarios?: ScenarioHook;
  /** a call refused with AuthFailure.*: what was received, for the signature diagnostics */
  onAuthFailure?: (failure: AuthFailure) => void;
  /** note each call's parameter names and facts (outcome.call), for the request log */
  recordCalls?: boolean;
}

/** A refused signature as the diagnostics need it: the request as received, the body once read. */
export interface AuthFailure {
  requestId: string;
  code: ErrorCode;
  req: RequestHead;
  body: Buffer | undefined;
  /** form or query parameters, when the call had them */
  flat: ReadonlyMap<string, string> | undefined;
  nowSeconds: number;
}

/** What the request log keeps of a call besides its outcome: names and safe facts only, never a value. */
export interface CallRecord {
  /** the parameter names sent (the action's, as validated; else the top-level names received) */
  params: string[];
  facts?: CallFacts;
  signatureMethod?: string;
}

export interface ApiOutcome {
  requestId: string;
  envelope: { Response: Record<string, unknown> };
  /** the Result for actions that have one, else the error code, else "OK" */
  code: string;
  billable: boolean;
  caller?: Caller;
  service?: string;
  action?: string;
  /** the action's audit detail, as it handed it back */
  audit?: AuditDetail;
  signal?: OutcomeSignal;
  call?: CallRecord;
  /** the test-kit scenario that took the call */
  scenario?: string;
  /** a scenario's transport fault: the connection is reset, or never answered */
  transport?: "reset" | "hang";
  cache?: "hit" | "miss";
}

type Style = "json" | "form" | "query" | "unsupported-body";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(body: Buffer): string {
  try {
    return UTF8.decode(body);
  } catch {
    throw new ApiError("InvalidParameter", "The body is not valid UTF-8.");
  }
}

/** Literal "null"/"undefined" are what some SDKs send for unset values (§9 item 10). */
function present(value: string | undefined): string | undefined {
  return value === undefined || value === "" || value === "null" || value === "undefined" ? undefined : value;
}

/** Action names go to logs and the audit trail: keep only ones shaped like an action name. */
function actionName(raw: string | undefined): string | undefined {
  return raw !== undefined && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(raw) ? raw : undefined;
}

/** Reads the body under the transport's caps; throws ApiError (RequestSizeLimitExceeded, ServiceUnavailable). */
export type BodyReader = () => Promise<Buffer>;

const EMPTY: Buffer = Buffer.alloc(0);

function headerValue(req: RequestHead, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function languageOf(raw: string | undefined): Language | "invalid" | undefined {
  const v = present(raw);
  if (v === undefined) return undefined;
  return v === "zh-CN" || v === "en-US" ? v : "invalid";
}

export function errorEnvelope(requestId: string, err: ApiError, language: Language): ApiOutcome["envelope"] {
  return { Response: { Error: { Code: err.code, Message: err.messageIn(language) }, RequestId: requestId } };
}

export function errorOutcome(code: ErrorCode, language: Language): ApiOutcome {
  const requestId = newRequestId();
  return { requestId, envelope: errorEnvelope(requestId, new ApiError(code), language), code, billable: false };
}

function setResult(outcome: ApiOutcome, result: ActionOutcome): void {
  outcome.envelope = { Response: { ...result.fields, RequestId: outcome.requestId } };
  outcome.billable = result.billable;
  outcome.code = result.result ?? "OK";
  outcome.audit = result.audit;
  outcome.signal = result.signal;
  outcome.cache = result.cache;
}

export async function handleCall(req: RequestHead, readBody: BodyReader, deps: PipelineDeps): Promise<ApiOutcome> {
  const requestId = newRequestId();
  const outcome: ApiOutcome = { requestId, envelope: { Response: {} }, code: "OK", billable: false };
  let language = deps.defaultLanguage;
  let handled: { action: ActionDefinition; params: ParamValues; ctx: ActionContext } | undefined;
  let flat: Map<string, string> | undefined;
  let body: Buffer | undefined;
  let nowSeconds = 0;
  const call: CallRecord = { params: [] };
  // an error a scenario asked for: no signature to diagnose
  let scriptedError = false;
  outcome.call = call;
  try {
    if (req.method !== "GET" && req.method !== "POST") throw new ApiError("UnsupportedProtocol");

    const authorization = headerValue(req, "authorization");
    const contentType = (headerValue(req, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    let style: Style;
    if (req.method === "GET") style = "query";
    else if (contentType === "application/json") style = "json";
    else if (contentType === "application/x-www-form-urlencoded") style = "form";
    else style = "unsupported-body";

    let caller: Caller;
    let action: string | undefined;
    let version: string | undefined;
    let requestedLanguage: ReturnType<typeof languageOf>;
    let region: string | undefined;
    // A clock scenario moves this call's clock: for the signature's window and for the action (its China-time day).
    let shiftMs = 0;
    if (authorization !== undefined) {
      requestedLanguage = languageOf(headerValue(req, "x-tc-language"));
      if (requestedLanguage && requestedLanguage !== "invalid") language = requestedLanguage;
      action = present(headerValue(req, "x-tc-action"));
      version = present(headerValue(req, "x-tc-version"));
      region = present(headerValue(req, "x-tc-region"));
      if (!action) throw new ApiError("MissingParameter", "The header X-TC-Action is required.");
      if (!version) throw new ApiError("MissingParameter", "The header X-TC-Version is required.");
      outcome.action = actionName(action);
      if (deps.scenarios?.hasClockScenarios)
        shiftMs = await clockShift(deps, /Credential=([^/,\s]+)\//.exec(authorization)?.[1], action, outcome);
      nowSeconds = Math.floor((deps.clock() + shiftMs) / 1000);
      const checkSignature = await beginTc3(req, authorization, nowSeconds, deps.keys);
      call.signatureMethod = "TC3-HMAC-SHA256";
      body = req.method === "POST" ? await readBody() : EMPTY;
      caller = checkSignature(body);
      if (style === "query") flat = decodeForm(req.rawQuery);
      else if (style === "form") flat = decodeForm(decodeUtf8(body));
    } else {
      // Without Authorization the call must be v1, which only exists for form POST and GET (§2).
      if (style === "json") throw new ApiError("AuthFailure.InvalidAuthorization", "JSON requests must be signed with TC3-HMAC-SHA256.");
      if (style === "unsupported-body")
        throw new ApiError("UnsupportedOperation", "Use application/json (TC3) or application/x-www-form-urlencoded.");
      flat = style === "query" ? decodeForm(req.rawQuery) : decodeForm(decodeUtf8(await readBody()));
      requestedLanguage = languageOf(flat.get("Language"));
      if (requestedLanguage && requestedLanguage !== "invalid") language = requestedLanguage;
      action = flat.get("Action");
      version = flat.get("Version");
      region = present(flat.get("Region"));
      outcome.action = actionName(action);
      call.signatureMethod = v1Algorithm(flat.get("SignatureMethod"));
      if (deps.recordCalls) call.params = receivedNames(flat.keys());
      if (deps.scenarios?.hasClockScenarios) shiftMs = await clockShift(deps, flat.get("SecretId"), action, outcome);
      nowSeconds = Math.floor((deps.clock() + shiftMs) / 1000);
      caller = await authenticateV1(req, flat, nowSeconds, deps.keys);
    }
    outcome.caller = caller;

    const route = deps.router.resolve(headerValue(req, "host") ?? "", caller, version!, action!);
    outcome.service = route.service;
    if (route.action.regions) {
      if (!region) throw new ApiError("MissingParameter", "The parameter Region is required.");
      if (!route.action.regions.has(region)) throw new ApiError("UnsupportedRegion");
    }
    if (requestedLanguage === "invalid") throw new ApiError("InvalidParameterValue", "Language must be zh-CN or en-US.");

    let params: ParamValues;
    if (style === "json") {
      const json = parseJsonObject(body ?? EMPTY);
      if (deps.recordCalls) call.params = receivedNames(Object.keys(json));
      params = validateJsonParams(route.action.schema, json);
    } else if (flat) {
      if (deps.recordCalls && call.params.length === 0) call.params = receivedNames(flat.keys());
      params = validateFlatParams(route.action.schema, flat);
    } else throw new ApiError("UnsupportedOperation", "This server accepts application/json and application/x-www-form-urlencoded bodies.");
    if (deps.recordCalls) call.facts = route.action.facts?.(params);

    const ctx: ActionContext = { requestId, language, caller, now: deps.clock() + shiftMs, region };
    handled = { action: route.action, params, ctx };
    const picking = deps.scenarios && pickScenario(deps.scenarios, route.action, params, ctx);
    const scenario = picking && (await picking);
    if (scenario) {
      outcome.scenario = scenario.id;
      if (scenario.effect.kind === "error") {
        scriptedError = true;
        throw new ApiError(scenario.effect.code);
      }
      if (await answeredByScenario(scenario.effect, handled, outcome)) return outcome;
    }
    setResult(outcome, await route.action.handle(params, ctx));
  } catch (err) {
    let apiError: ApiError;
    if (err instanceof ApiError) {
      apiError = err;
      if (err.code.startsWith("AuthFailure.") && deps.onAuthFailure && !scriptedError) {
        deps.onAuthFailure({ requestId, code: err.code, req, body, flat, nowSeconds });
      }
    } else if (err instanceof UnavailableError) {
      // The one place a dependency that is away becomes an answer: the action's own (-11), else ServiceUnavailable.
      deps.onUnavailable(err, requestId);
      if (handled?.action.whenUnavailable) {
        setResult(outcome, handled.action.whenUnavailable(handled.params, handled.ctx));
        return outcome;
      }
      apiError = new ApiError("ServiceUnavailable");
    } else {
      deps.onInternalError(err, requestId);
      apiError = new ApiError("InternalError");
    }
    outcome.envelope = errorEnvelope(requestId, apiError, language);
    outcome.code = apiError.code;
    outcome.billable = false;
  }
  return outcome;
}

/** The action's parameter names as sent (top level, no common ones), capped so a huge request cannot bloat the log. */
function receivedNames(names: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (out.size >= 64) break;
    const dot = name.indexOf(".");
    const top = dot === -1 ? name : name.slice(0, dot);
    if (!COMMON_PARAMS.has(top) && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(top)) out.add(top);
  }
  return [...out].sort();
}

/** A scenario's answer in place of the action's (true), or its delay before the action's own answer (false). */
async function answeredByScenario(
  effect: Exclude<ScenarioEffect, { kind: "error" }>,
  { action, params, ctx }: { action: ActionDefinition; params: ParamValues; ctx: ActionContext },
  outcome: ApiOutcome,
): Promise<boolean> {
  switch (effect.kind) {
    case "reset":
    case "hang":
      outcome.transport = effect.kind;
      outcome.code = effect.kind;
      return true;
    case "result":
      if (!action.scripted) throw new ApiError("InternalError");
      setResult(outcome, await action.scripted.answer(effect.result, params, ctx));
      return true;
    case "delay":
      await new Promise((resolve) => setTimeout(resolve, effect.ms));
      return false;
  }
}

/** How far a clock scenario moves this call's clock (0: none takes it); the scenario is noted on the outcome. */
async function clockShift(
  deps: PipelineDeps,
  secretId: string | undefined,
  action: string | undefined,
  outcome: ApiOutcome,
): Promise<number> {
  if (!deps.scenarios || !secretId) return 0;
  const shift = await deps.scenarios.clockShift({ secretId, action, now: deps.clock() }, deps.keys);
  if (!shift) return 0;
  outcome.scenario = shift.id;
  return shift.ms;
}

function pickScenario(hook: ScenarioHook, action: ActionDefinition, params: ParamValues, ctx: ActionContext) {
  const { caller } = ctx;
  return hook.pick({
    accountId: caller.accountId,
    secretId: caller.secretId,
    action: action.name,
    subjects: () => action.subjects?.(params) ?? {},
    now: ctx.now,
  });
}

function parseJsonObject(body: Buffer): Record<string, unknown> {
  const text = decodeUtf8(body);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError("InvalidParameter", "The body is not valid JSON.");
  }
  if (!isPlainObject(value)) throw new ApiError("InvalidParameter", "The body must be a JSON object.");
  return value;
}
