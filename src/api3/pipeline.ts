/**
 * One API 3.0 call from raw request to envelope, in the check order of api3-protocol.md §7.1:
 * method, signature style and content type, common parameters, authentication, routing, language,
 * body and schema, then the action's admission and answer. The call's hooks run where call/hooks.ts documents.
 * Nothing here knows about sockets; http/handler.ts feeds it. The body is asked for only once the headers have
 * passed every check they can (a TC3 call with an unknown key is never read).
 */
import { newRequestId } from "./request-id";
import { ApiError, type ErrorCode, isErrorCode, type Language } from "./errors";
import { v1Algorithm } from "./v1";
import { authenticateV1, beginTc3, type Caller, type KeyResolver, type RequestHead } from "./authenticate";
import { COMMON_PARAMS, decodeForm, isPlainObject, validateFlatParams, validateJsonParams, type ParamValues } from "./params";
import { REGION_NAME, type Router } from "./router";
import type { ActionContext, ActionDefinition, ActionOutcome } from "../call/action";
import { answerPhase } from "../call/answer-phase";
import type { AnsweredCall, CallHooks, CallRecord, ClockShift } from "../call/hooks";
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
  /** the call's hooks (call/hooks.ts); a refused signature reaches onRefusedSignature as an AuthFailure */
  hooks: CallHooks<AuthFailure>;
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

export interface ApiOutcome extends AnsweredCall {
  envelope: { Response: Record<string, unknown> };
  caller?: Caller;
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
  return { requestId, envelope: errorEnvelope(requestId, new ApiError(code), language), code, failed: true, billable: false };
}

function setResult(outcome: ApiOutcome, result: ActionOutcome): void {
  outcome.envelope = { Response: { ...result.fields, RequestId: outcome.requestId } };
  outcome.failed = false;
  outcome.billable = result.billable;
  outcome.code = result.result ?? "OK";
  outcome.audit = result.audit;
  outcome.signal = result.signal;
  outcome.cache = result.cache;
}

export async function handleCall(req: RequestHead, readBody: BodyReader, deps: PipelineDeps): Promise<ApiOutcome> {
  const requestId = newRequestId();
  const outcome: ApiOutcome = { requestId, envelope: { Response: {} }, code: "OK", failed: false, billable: false };
  let language = deps.defaultLanguage;
  let handled: { action: ActionDefinition; params: ParamValues; ctx: ActionContext } | undefined;
  let flat: Map<string, string> | undefined;
  let body: Buffer | undefined;
  let nowSeconds = 0;
  const call: CallRecord = { params: [] };
  // an error a hook asked for: no signature to diagnose
  let hookError = false;
  outcome.call = call;
  try {
    if (req.method !== "GET" && req.method !== "POST") throw new ApiError("UnsupportedProtocol");

    const authorization = headerValue(req, "authorization");
    const contentType = ((headerValue(req, "content-type") ?? "").split(";")[0] ?? "").trim().toLowerCase();
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
    // beforeAuthentication may move this call's clock: for the signature's window and the action (its China-time day).
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
      const shifting = deps.hooks.beforeAuthentication && clockShift(deps, /Credential=([^/,\s]+)\//.exec(authorization)?.[1], action);
      if (shifting) shiftMs = shiftedBy(await shifting, outcome);
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
      // before the signature is checked: worked out for this call, not kept among the lists receivedNames remembers
      if (deps.recordCalls) call.params = topLevelNames([...flat.keys()]);
      const shifting = clockShift(deps, flat.get("SecretId"), action);
      if (shifting) shiftMs = shiftedBy(await shifting, outcome);
      nowSeconds = Math.floor((deps.clock() + shiftMs) / 1000);
      caller = await authenticateV1(req, flat, nowSeconds, deps.keys);
    }
    outcome.caller = caller;

    const route = deps.router.resolve(headerValue(req, "host") ?? "", caller, version ?? "", action ?? "");
    outcome.service = route.service;
    if (route.action.regions) {
      if (!region) throw new ApiError("MissingParameter", "The parameter Region is required.");
      if (!REGION_NAME.test(region)) throw new ApiError("InvalidParameterValue", "Region is not the name of a region.");
      if (!route.action.regions.has(region)) throw new ApiError("UnsupportedRegion");
    }
    if (requestedLanguage === "invalid") throw new ApiError("InvalidParameterValue", "Language must be zh-CN or en-US.");

    let params: ParamValues;
    if (style === "json") {
      const json = parseJsonObject(body ?? EMPTY);
      if (deps.recordCalls) call.params = receivedNames(Object.keys(json));
      params = validateJsonParams(route.action.schema, json);
    } else if (flat) {
      if (deps.recordCalls && call.params.length === 0) call.params = receivedNames([...flat.keys()]);
      params = validateFlatParams(route.action.schema, flat);
    } else throw new ApiError("UnsupportedOperation", "This server accepts application/json and application/x-www-form-urlencoded bodies.");
    if (deps.recordCalls) call.facts = route.action.facts?.(params);

    const ctx: ActionContext = { requestId, language, caller, now: deps.clock() + shiftMs, region };
    handled = { action: route.action, params, ctx };
    // Admission, then beforeAnswer (an admitted call only), then the answer: call/answer-phase.ts.
    const admission = await route.action.admit(params, ctx);
    const answered = await answerPhase(admission, deps.hooks.beforeAnswer, () => admittedCall(route.action, params, ctx));
    if (answered.takenBy !== undefined) outcome.takenBy = answered.takenBy;
    switch (answered.kind) {
      case "answer":
        setResult(outcome, answered.outcome);
        break;
      case "fault":
        outcome.transport = answered.fault;
        outcome.code = answered.fault;
        break;
      case "error":
        hookError = true;
        throw new ApiError(isErrorCode(answered.code) ? answered.code : "InternalError");
    }
  } catch (err) {
    let apiError: ApiError;
    if (err instanceof ApiError) {
      apiError = err;
      if (err.code.startsWith("AuthFailure.") && deps.hooks.onRefusedSignature && !hookError) {
        deps.hooks.onRefusedSignature({ requestId, code: err.code, req, body, flat, nowSeconds });
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
    outcome.failed = true;
    outcome.billable = false;
  }
  return outcome;
}

/** receivedNames of the lists seen (the same few come again and again): short lists of names shaped like names only */
const namesSeen = new Map<string, readonly string[]>();
const NAMES_SEEN_AT_MOST = 1000;
const LIST_KEPT_AT_MOST = 32;
/** a parameter name as an SDK sends one: no comma, so lists of such names joined by commas are told apart */
const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9.]{0,127}$/;

/** The action's parameter names as sent (top level, no common ones), capped so a huge request cannot bloat the log. */
function receivedNames(names: readonly string[]): readonly string[] {
  // Anything else (a list of thousands, a name with a NUL or a comma) is worked out for its call and not kept.
  if (names.length > LIST_KEPT_AT_MOST || !names.every((name) => PARAMETER_NAME.test(name))) return topLevelNames(names);
  const joined = names.join(",");
  let found = namesSeen.get(joined);
  if (!found) {
    found = Object.freeze(topLevelNames(names));
    if (namesSeen.size < NAMES_SEEN_AT_MOST) namesSeen.set(joined, found);
  }
  return found;
}

function topLevelNames(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (out.size >= 64) break;
    const dot = name.indexOf(".");
    const top = dot === -1 ? name : name.slice(0, dot);
    if (!COMMON_PARAMS.has(top) && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(top)) out.add(top);
  }
  return [...out].sort();
}

/** beforeAuthentication's shift of this call's clock; undefined at once when nothing may move it (no wait). */
function clockShift(deps: PipelineDeps, secretId: string | undefined, action: string | undefined) {
  if (!deps.hooks.beforeAuthentication || !secretId) return undefined;
  return deps.hooks.beforeAuthentication({ secretId, action, now: deps.clock() });
}

/** How far the call's clock moves (ms; 0: not at all); what moved it is noted on the outcome. */
function shiftedBy(shift: ClockShift | undefined, outcome: ApiOutcome): number {
  if (!shift) return 0;
  outcome.takenBy = shift.by;
  return shift.ms;
}

/** An admitted call as beforeAnswer sees it. */
function admittedCall(action: ActionDefinition, params: ParamValues, ctx: ActionContext) {
  const { caller } = ctx;
  return {
    accountId: caller.accountId,
    secretId: caller.secretId,
    action: action.name,
    subjects: () => action.subjects?.(params) ?? {},
    now: ctx.now,
  };
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
