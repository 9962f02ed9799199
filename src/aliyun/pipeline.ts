/**
 * One Alibaba RPC call from raw request to answer (alibaba-cloudauth.md §2, §4, §8): the signature (V3 or V2) with
 * its timestamp and key, the product's version and action, the nonce (only an answerable call takes room among its
 * key's, bounded: aliyun/nonces.ts), then the action's admission and answer through
 * the same phases and hooks as every call (call/answer-phase.ts). An action's answer travels in HTTP 200 with the
 * product's own Code; what the gateway refuses travels in its envelope with its HTTP status. Knows no product.
 */
import type { Caller, Credential, KeyResolver, RequestHead } from "../api3/authenticate";
import { requestHeader } from "../api3/authenticate";
import { ApiError, type ErrorCode, isErrorCode } from "../api3/errors";
import { newRequestId } from "../api3/request-id";
import type { ActionContext, ActionDefinition, ActionOutcome } from "../call/action";
import type { ParamValues } from "../api3/params";
import { answerPhase } from "../call/answer-phase";
import type { AnsweredCall, CallHooks, CallRecord } from "../call/hooks";
import { UnavailableError } from "../common/unavailable";
import { type AcsSignature, authenticateAcs3, authenticateRpc, readHead, type Authenticated } from "./authenticate";
import { GatewayError, isGatewayCode } from "./errors";
import type { Nonces } from "./nonces";
import { type AcsRefusal, DIAGNOSED } from "./diagnose";

/** A product as this layer serves it: one API version's actions, and its own answer to an account's refusal. */
export interface AcsProduct {
  service: string;
  version: string;
  actions: ReadonlyMap<string, ActionDefinition>;
  /** an account-level refusal of steps/ (not activated, in arrears…) as the product's answer; undefined: the gateway's */
  refusal(code: ErrorCode): ActionOutcome | undefined;
}

export interface AcsDeps {
  product: AcsProduct;
  /** what test keys are served instead (the test kit: fixtures only, the test ledger); absent: test keys are refused */
  productForTestKeys?: AcsProduct;
  keys: KeyResolver;
  clock: () => number;
  nonces: Nonces;
  hooks: CallHooks<unknown>;
  onInternalError: (err: unknown, requestId: string) => void;
  onUnavailable: (err: UnavailableError, requestId: string) => void;
  /** a call refused for its signature, clock or key (the test kit diagnoses it); absent: nobody asks */
  onRefusedSignature?: (refusal: AcsRefusal) => void;
}

export interface AcsOutcome extends AnsweredCall {
  caller?: Caller;
  status: number;
  body: Record<string, unknown>;
}

/** Alibaba's RequestIds are upper-case UUIDs; ours keep their time-ordered prefix (api3/request-id.ts). */
export const newAcsRequestId = (): string => newRequestId().toUpperCase();

/** How the steps' refusals look at Alibaba's gateway when the product does not answer them itself. */
const GATEWAY_FOR: Readonly<Partial<Record<ErrorCode, GatewayError["code"]>>> = {
  RequestLimitExceeded: "Throttling.User",
  "AuthFailure.SecretIdNotFound": "InvalidAccessKeyId.NotFound",
  ServiceUnavailable: "ServiceUnavailable",
  RequestSizeLimitExceeded: "RequestSizeLimitExceeded",
};

const HOST = /^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$/;

export function gatewayEnvelope(requestId: string, err: GatewayError, host: string | undefined): Record<string, unknown> {
  return {
    RequestId: requestId,
    HostId: host !== undefined && HOST.test(host) ? host : "cloudauth.aliyuncs.com",
    Code: err.code,
    Message: err.text,
    Recommend: `https://error-center.aliyun.com/status/search?Keyword=${err.code}&source=PopGw`,
  };
}

export function gatewayOutcome(code: GatewayError["code"], host: string | undefined): AcsOutcome {
  const requestId = newAcsRequestId();
  const err = new GatewayError(code);
  return { requestId, status: err.status, body: gatewayEnvelope(requestId, err, host), code, failed: true, billable: false };
}

const ACTION_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

export async function handleAcsCall(req: RequestHead, readBody: () => Promise<Buffer>, deps: AcsDeps): Promise<AcsOutcome> {
  const requestId = newAcsRequestId();
  const host = requestHeader(req, "host");
  const call: CallRecord = { params: [] };
  const outcome: AcsOutcome = { requestId, status: 200, body: {}, code: "OK", failed: false, billable: false, call };
  let handled: { action: ActionDefinition; params: ParamValues; ctx: ActionContext } | undefined;
  // Kept for a diagnosis of a refused signature: the body as read, and the call's clock.
  let body: Buffer | undefined;
  let nowSeconds = Math.floor(deps.clock() / 1000);
  const reading = async () => {
    body = await readBody();
    return body;
  };
  try {
    if (req.method !== "GET" && req.method !== "POST") throw new GatewayError("UnsupportedHTTPMethod");
    const head = readHead(req);
    if (head.action !== undefined && ACTION_NAME.test(head.action)) outcome.action = head.action;
    call.signatureMethod = head.signature === "ACS3" ? "ACS3-HMAC-SHA256" : "HMAC-SHA1";
    // The test kit may move this call's clock (its window and its China-time day), as it does Tencent's.
    const shift =
      deps.hooks.beforeAuthentication && head.accessKeyId
        ? await deps.hooks.beforeAuthentication({ secretId: head.accessKeyId, action: head.action, now: deps.clock() })
        : undefined;
    if (shift) outcome.takenBy = shift.by;
    const now = deps.clock() + (shift?.ms ?? 0);
    nowSeconds = Math.floor(now / 1000);
    const authenticate = head.signature === "ACS3" ? authenticateAcs3 : authenticateRpc;
    const auth: Authenticated = await authenticate(req, reading, nowSeconds, deps);
    const { credential } = auth;
    const product = credential.test ? deps.productForTestKeys : deps.product;
    if (!product) throw new GatewayError("InvalidAccessKeyId.Inactive");
    outcome.caller = callerOf(credential, head.signature);
    outcome.action = ACTION_NAME.test(auth.action) ? auth.action : undefined;

    if (auth.version !== product.version) throw new GatewayError("InvalidVersion");
    const action = product.actions.get(auth.action);
    if (!action) throw new GatewayError("InvalidApi.NotFound");
    outcome.service = product.service;
    // Only a call that could be answered takes room among its key's nonces; a key whose room is full is refused
    // as a flood, never by forgetting a nonce whose request is still valid.
    // Judged on the server's own clock, never the call's moved one: one key's shifted clock must not forget other
    // keys' nonces, and a request signed for a moved clock stays remembered while that clock would accept it.
    const shiftMs = shift?.ms ?? 0;
    // Room in one process is shared per account, whichever of its keys signs (seen-once.ts).
    const seen = await deps.nonces.use(credential.secretId, auth.nonce, now - shiftMs, auth.signedAtMs - shiftMs, credential.accountId);
    if (seen === "replayed") throw new GatewayError("SignatureNonceUsed");
    if (seen === "full") throw new GatewayError("Throttling.User");

    const params: ParamValues = {};
    for (const name of Object.keys(action.schema)) {
      const value = auth.params.get(name);
      if (value !== undefined) params[name] = value;
    }
    call.params = Object.keys(params).sort();
    const ctx: ActionContext = { requestId, language: "en-US", caller: outcome.caller, now, region: undefined };
    handled = { action, params, ctx };
    const admission = await action.admit(params, ctx);
    const answered = await answerPhase(admission, deps.hooks.beforeAnswer, () => ({
      accountId: credential.accountId,
      secretId: credential.secretId,
      action: action.name,
      subjects: () => action.subjects?.(params) ?? {},
      now,
    }));
    if (answered.takenBy !== undefined) outcome.takenBy = answered.takenBy;
    switch (answered.kind) {
      case "answer":
        answer(outcome, answered.outcome);
        break;
      case "fault":
        outcome.transport = answered.fault;
        outcome.code = answered.fault;
        break;
      case "error":
        // The test kit's error: an API 3.0 code, answered as this protocol answers the same refusal.
        if (isErrorCode(answered.code)) throw new ApiError(answered.code);
        throw isGatewayCode(answered.code) ? new GatewayError(answered.code) : new GatewayError("InternalError");
    }
  } catch (err) {
    refuse(outcome, err, deps, handled, host);
    if (err instanceof GatewayError && DIAGNOSED.has(err.code))
      deps.onRefusedSignature?.({ requestId, code: err.code, req, body, nowSeconds });
  }
  return outcome;
}

function callerOf(credential: Credential, signature: AcsSignature): Caller {
  return { secretId: credential.secretId, accountId: credential.accountId, signature, test: credential.test === true };
}

function answer(outcome: AcsOutcome, result: ActionOutcome): void {
  outcome.status = 200;
  outcome.body = { RequestId: outcome.requestId, ...result.fields };
  outcome.failed = false;
  outcome.billable = result.billable;
  outcome.code = result.result ?? "OK";
  outcome.audit = result.audit;
  outcome.signal = result.signal;
}

/** Any refusal as its answer: the product's own for an account's state, else the gateway's envelope. */
function refuse(
  outcome: AcsOutcome,
  err: unknown,
  deps: AcsDeps,
  handled: { action: ActionDefinition; params: ParamValues; ctx: ActionContext } | undefined,
  host: string | undefined,
): void {
  let gateway: GatewayError;
  if (err instanceof GatewayError) gateway = err;
  else if (err instanceof ApiError) {
    const own = deps.product.refusal(err.code);
    if (own) {
      answer(outcome, own);
      return;
    }
    gateway = new GatewayError(GATEWAY_FOR[err.code] ?? "InternalError");
    if (gateway.code === "InternalError") deps.onInternalError(err, outcome.requestId);
  } else if (err instanceof UnavailableError) {
    deps.onUnavailable(err, outcome.requestId);
    if (handled?.action.whenUnavailable) {
      answer(outcome, handled.action.whenUnavailable(handled.params, handled.ctx));
      return;
    }
    gateway = new GatewayError("ServiceUnavailable");
  } else {
    deps.onInternalError(err, outcome.requestId);
    gateway = new GatewayError("InternalError");
  }
  outcome.status = gateway.status;
  outcome.body = gatewayEnvelope(outcome.requestId, gateway, host);
  outcome.code = gateway.code;
  outcome.failed = true;
  outcome.billable = false;
}
