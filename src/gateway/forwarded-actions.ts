/**
 * Gateway mode's FaceID, in the two phases of every action (call/hooks.ts):
 *   admission: the team's account state and per-second limit, its encrypted fields opened, its own daily cap per
 *              number and identity number, the call's price set aside from its monthly budget;
 *   answer:    the cache of paid answers, else the upstream, signed with the company's key.
 * The upstream's answer goes back in its own wire shape; it is charged to the team when the action's table charges
 * its Result, and that charge consumes the reservation (any other answer gives it back). An upstream that fails,
 * times out or refuses answers the action's busy code, uncharged. The cache spares the upstream call, not the
 * admission: a cached answer is counted on the team's daily cap and needs its budget's room, as any other call.
 * Every call that reached the upstream ends charged to the team or on the unknown list, even with the team's store
 * away: what the store cannot take goes to the journal of paid answers first (store/paid-answers.ts), and a retry
 * of a call whose charge waits there is answered from the paid window (paid-window.ts), not from the upstream. The
 * journal also keeps each call while it is with the upstream, so one this process never sees end (killed) is listed
 * as unknown by the next start. A Result the action's table lacks is passed on uncharged and listed as unknown.
 */
import { ApiError } from "../api3/errors";
import { isPlainObject, type ParamSchema, type ParamValues } from "../api3/params";
import type { Product } from "../api3/router";
import type { ActionContext, ActionDefinition, ActionOutcome } from "../call/action";
import { type Admission, refused } from "../call/answer-phase";
import { UnavailableError } from "../common/unavailable";
import { CARRIER_ACTIONS, CARRIER_VERIFICATION_SCHEMA } from "../faceid/carrier-verification";
import { CHECK_PHONE_AND_NAME_SCHEMA } from "../faceid/check-phone-and-name";
import { ENCRYPTED_PHONE_VERIFICATION_SCHEMA } from "../faceid/encrypted-phone-verification";
import { THREE_FIELDS } from "../faceid/field-decryption";
import { ID_CARD_VERIFICATION_SCHEMA } from "../faceid/id-card-verification";
import { NUMBER_SCHEMA } from "../faceid/number-checks";
import { PHONE_VERIFICATION_SCHEMA } from "../faceid/phone-verification";
import { FACEID_SERVICE, FACEID_VERSION } from "../faceid/product";
import { codeFor, describeIn, RESULT_TABLES } from "../faceid/results";
import { admitted, chargeStepFor } from "../faceid/admitted";
import type { FaceIdDeps } from "../faceid/deps";
import { ANSWER_FIELDS } from "../faceid/scripted";
import type { FaceIdAction } from "../faceid/tariff";
import { admitAccount } from "../steps/admission";
import type { ChargeStep } from "../steps/charge";
import type { Account, UnknownEntry, VerifyModeName } from "../store/model";
import type { PaidAnswerSink, UpstreamCallLog } from "../store/paid-answers";
import type { Ledger } from "../store/storage";
import type { AnswerCache } from "./answer-cache";
import type { PaidWindow } from "./paid-window";
import type { TeamLimits } from "./team-limits";
import type { UpstreamSlots } from "./upstream-slots";
import type { UpstreamPublicKeys } from "./upstream-settings";
import { type EncryptableField, encryptRequestFields } from "../client/field-encryption";
import type { UpstreamCall, UpstreamOutcome } from "./upstream-client";

/** How each action's fields may arrive encrypted: PhoneVerification's flat fields, or the `Encryption` object. */
interface Forwarded {
  action: FaceIdAction;
  schema: ParamSchema;
  encryptable: readonly EncryptableField[];
  envelope: "flat" | "object" | "none";
}

const FORWARDED: readonly Forwarded[] = [
  { action: "PhoneVerification", schema: PHONE_VERIFICATION_SCHEMA, encryptable: THREE_FIELDS, envelope: "flat" },
  ...CARRIER_ACTIONS.map(({ action }) => ({
    action,
    schema: CARRIER_VERIFICATION_SCHEMA,
    encryptable: THREE_FIELDS,
    envelope: "object" as const,
  })),
  { action: "EncryptedPhoneVerification", schema: ENCRYPTED_PHONE_VERIFICATION_SCHEMA, encryptable: [], envelope: "none" },
  { action: "CheckPhoneAndName", schema: CHECK_PHONE_AND_NAME_SCHEMA, encryptable: ["Mobile", "Name"], envelope: "object" },
  {
    action: "IdCardVerification",
    schema: ID_CARD_VERIFICATION_SCHEMA,
    encryptable: ["IdCard", "Name"],
    envelope: "object",
  },
  { action: "MobileStatus", schema: NUMBER_SCHEMA, encryptable: ["Mobile"], envelope: "object" },
  { action: "MobileNetworkTimeVerification", schema: NUMBER_SCHEMA, encryptable: ["Mobile"], envelope: "object" },
];

type Upstream = { call(c: UpstreamCall): Promise<UpstreamOutcome>; publicKeys: UpstreamPublicKeys };

export interface GatewayDeps {
  faceid: FaceIdDeps;
  /** the upstream while one is set; none: the action answers from the installation's own records */
  upstream: () => Upstream | undefined | Promise<Upstream | undefined>;
  slots: UpstreamSlots;
  teams: TeamLimits;
  cache: AnswerCache;
  ledger: Pick<Ledger, "markUnknown">;
  /**
   * paid answers the store cannot take now: kept (durably) before the answer, written to the store later; and each
   * call while it is with the upstream, so a process killed meanwhile leaves it to be listed as unknown
   */
  paid: PaidAnswerSink & UpstreamCallLog;
  /** answers whose charge waits in the journal: a retry of the same call is answered from here */
  window: PaidWindow;
  /** what one call may take upstream, waiting for a slot and retrying included */
  budgetMs: number;
  /** the upstream refused the company key: say so (never the key), once per call */
  onKeyRefused: (code: string, requestId: string) => void;
  onUpstreamFailure: (reason: string, requestId: string) => void;
  /** the upstream answered a Result the action's table does not have: listed as unknown, for this reason */
  onUnrecognised: (reason: string, requestId: string) => void;
  /** the upstream answered (the company key works) */
  onAnswered: () => void;
}

const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** A Result as the log and the unknown list show it: a code as it is, other text quoted and cut short. */
const codeShown = (result: string): string => (/^[\w.-]{1,32}$/.test(result) ? result : JSON.stringify(result.slice(0, 32)));

/** The action's encryptable fields that `params` carries as text: their values, and their names. */
function textFields(f: Forwarded, params: ParamValues): { values: Record<string, string>; fields: EncryptableField[] } {
  const values: Record<string, string> = {};
  const fields: EncryptableField[] = [];
  for (const name of f.encryptable) {
    const v = text(params[name]);
    if (v === undefined) continue;
    values[name] = v;
    fields.push(name);
  }
  return { values, fields };
}

/**
 * The fields encrypted again, to the upstream's public keys, wherever the action lets them travel encrypted: the
 * team's algorithm when it chose SM4-GCM, else AES-256-CBC under RSA (PhoneVerification's flat fields carry only that).
 */
function sealedForUpstream(f: Forwarded, plain: ParamValues, received: ParamValues, keys: UpstreamPublicKeys): ParamValues {
  const { values, fields } = textFields(f, plain);
  if (f.envelope === "none" || fields.length === 0) return plain;
  if (f.envelope === "flat") {
    return { ...plain, ...encryptRequestFields(values, { algorithm: "AES-256-CBC", publicKey: keys.rsa, form: "flat" }, fields) };
  }
  const team = received.Encryption;
  const sm4 = isPlainObject(team) && team.Algorithm === "SM4-GCM";
  const key = sm4 ? { algorithm: "SM4-GCM" as const, publicKey: keys.sm2 } : { algorithm: "AES-256-CBC" as const, publicKey: keys.rsa };
  const sealed = encryptRequestFields(values, key, fields);
  return { ...plain, ...sealed, Encryption: { ...sealed.Encryption } };
}

/** The parameters as the upstream is to receive them: encrypted fields opened, their envelope dropped. */
async function plaintextParams(f: Forwarded, params: ParamValues, deps: GatewayDeps, account: Account, ctx: ActionContext) {
  if (f.envelope === "none") return params;
  const envelope = f.envelope === "flat" ? params : params.Encryption;
  if (!isPlainObject(envelope)) return params;
  const list = envelope.EncryptList;
  if (!Array.isArray(list) || list.length === 0) return params;
  const { values } = textFields(f, params);
  const allowed: readonly string[] = f.encryptable;
  const opened = await deps.faceid.fields.open(values, allowed, envelope, account, ctx, f.envelope === "flat");
  const out: ParamValues = { ...params, ...opened };
  if (f.envelope === "flat") {
    delete out.CiphertextBlob;
    delete out.EncryptList;
    delete out.Iv;
  } else delete out.Encryption;
  return out;
}

function forwardedAction(f: Forwarded, local: ActionDefinition, deps: GatewayDeps): ActionDefinition {
  const table = RESULT_TABLES[f.action];
  // The table's own codes for a daily cap reached (where the action has one) and for the upstream away.
  const dailyCap = codeFor(table, "daily-cap");
  const busy = codeFor(table, "source-failure");
  if (!busy) throw new Error(`${f.action}'s table has no code for a source that is away`);
  const modeOf = (params: ParamValues): VerifyModeName =>
    f.action === "PhoneVerification" && params.VerifyMode === "1" ? "detailed" : "simple";
  /** An uncharged answer of the action's table made here: its busy code, or its daily-cap code. */
  const answer = (code: string, params: ParamValues, ctx: ActionContext): ActionOutcome => {
    const info = table[code];
    if (!info) throw new Error(`${f.action}'s table has no Result ${code}`);
    const fields: Record<string, unknown> = { Result: code, Description: describeIn(info, ctx.language), ...ANSWER_FIELDS[f.action](code) };
    return { fields, billable: false, result: code, audit: { variant: modeOf(params) }, signal: info.signal };
  };

  /** The call upstream, once the team may make it: a slot, the upstream's own limit retried, the answer mapped. */
  async function forward(
    params: ParamValues,
    sent: ParamValues,
    ctx: ActionContext,
    upstream: Upstream,
    charge: ChargeStep,
  ): Promise<ActionOutcome> {
    const { accountId } = ctx.caller;
    const deadline = Date.now() + deps.budgetMs;
    if (!(await deps.slots.take(f.action, accountId, deadline))) throw new ApiError("RequestLimitExceeded");
    const call = { requestId: ctx.requestId, accountId, secretId: ctx.caller.secretId, action: f.action, at: ctx.now };
    /** The upstream may have charged the call: on the unknown list, through the journal when the store cannot take it now. */
    const listUnknown = async (reason: string) => {
      const entry: UnknownEntry = { ...call, reason };
      await deps.ledger.markUnknown(entry).catch((err: unknown) => deps.paid.add({ kind: "unknown", entry }, err));
    };
    // Kept durably before it is sent, until it ends charged, uncharged or listed: a process killed in between leaves
    // it to the next start, which lists it as unknown (store/paid-replay.ts).
    deps.paid.sending(call);
    let outcome: UpstreamOutcome;
    try {
      for (;;) {
        outcome = await upstream.call({
          action: f.action,
          version: FACEID_VERSION,
          region: ctx.region ?? "ap-guangzhou",
          language: ctx.language,
          params: sent,
          timeoutMs: Math.max(1, deadline - Date.now()),
        });
        // The upstream's own limit: wait for the next slot within the budget, never pass it on as it is.
        if (outcome.kind === "error" && outcome.code === "RequestLimitExceeded" && Date.now() + 100 < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          if (await deps.slots.take(f.action, accountId, deadline)) continue;
        }
        break;
      }
      if (outcome.kind === "answer") {
        deps.onAnswered();
        const result = text(outcome.fields.Result);
        // The upstream's text, looked up as the table's own entries only (a Result of `constructor` is none of them).
        const info = result !== undefined && Object.hasOwn(table, result) ? table[result] : undefined;
        // The company has paid: a charge the ledger cannot take now is journaled, and the answer is charged all the same.
        if (info?.charged) await charge.charge(outcome.requestId, (entry, cause) => deps.paid.add({ kind: "charge", entry }, cause));
        // A Result our table lacks (an upstream newer than it): whether it cost the company is not known. Passed on
        // uncharged as the upstream answered it, and listed; the Result is a code, never a personal value.
        if (!info) {
          const reason = result === undefined ? "an answer with no Result" : `unrecognised Result ${codeShown(result)}`;
          await listUnknown(reason);
          deps.onUnrecognised(reason, ctx.requestId);
        }
        return { fields: outcome.fields, billable: info?.charged === true, result, audit: { variant: modeOf(params) } };
      }
      if (outcome.kind === "lost") await listUnknown(outcome.reason);
    } finally {
      deps.paid.ended(ctx.requestId);
    }
    if (outcome.kind === "error" && outcome.code.startsWith("AuthFailure.")) {
      deps.onKeyRefused(outcome.code, ctx.requestId);
      throw new ApiError("ServiceUnavailable");
    }
    deps.onUpstreamFailure(outcome.kind === "error" ? `error ${outcome.code}` : `${outcome.kind}: ${outcome.reason}`, ctx.requestId);
    throw new UnavailableError("upstream", new Error(outcome.kind));
  }

  /** The answer phase: the paid window, the cache of paid answers, else the upstream (the call's slot, its answer). */
  async function answerFromUpstream(params: ParamValues, sent: ParamValues, ctx: ActionContext, upstream: Upstream, charge: ChargeStep) {
    const { mode } = charge;
    const { window } = deps;
    // The call's keyed hash, made at most once and only when the window or the cache needs it.
    let callKey: string | undefined;
    const keyOfCall = () => (callKey ??= deps.cache.keyOf(f.action, mode, sent));
    const windowKey = () => window.keyOf(ctx.caller.accountId, keyOfCall());
    // A retry of a call paid for and charged already (its charge waiting in the journal): the same answer, uncharged.
    const retried = window.isEmpty(ctx.now) ? undefined : window.get(windowKey(), ctx.now);
    if (retried) return { fields: retried, billable: false, result: text(retried.Result), audit: { variant: mode }, cache: "hit" as const };
    const cacheKey = deps.cache.enabled ? keyOfCall() : undefined;
    const cached = cacheKey === undefined ? undefined : deps.cache.get(cacheKey, ctx.now);
    // A paid answer of the last TTL: the upstream is not asked again, and nothing is charged.
    if (cached) return { fields: cached, billable: false, result: text(cached.Result), audit: { variant: mode }, cache: "hit" as const };
    const outcome = await forward(params, sealedForUpstream(f, sent, params, upstream.publicKeys), ctx, upstream, charge);
    if (charge.writtenLater) window.put(windowKey(), outcome.fields, ctx.now);
    if (cacheKey === undefined) return outcome;
    if (outcome.billable) deps.cache.put(cacheKey, outcome.fields, ctx.now);
    return { ...outcome, cache: "miss" as const };
  }

  /** Admission through the upstream, once its settings are read (a Promise at most once a second). */
  async function admitForwarded(
    current: Upstream | Promise<Upstream | undefined>,
    params: ParamValues,
    ctx: ActionContext,
  ): Promise<Admission<ActionOutcome>> {
    const upstream = current instanceof Promise ? await current : current;
    if (!upstream) return local.admit(params, ctx);
    const account = await admitAccount(f.action, deps.faceid, ctx.caller, ctx.now);
    const sent = await plaintextParams(f, params, deps, account, ctx);
    const mode = modeOf(params);
    const subjects = { phone: text(sent.Phone) ?? text(sent.Mobile), idCard: text(sent.IdCard) };
    if (dailyCap && !(await deps.teams.attempt(account, f.action, subjects, ctx.now))) return refused(answer(dailyCap, params, ctx));
    const charge = chargeStepFor(f.action, mode, deps.faceid, ctx);
    // The price is set aside from the team's budget now; a charge keeps it, any other answer gives it back.
    const reserved = await deps.teams.reserve(account, charge.unitPrice, ctx.now);
    return admitted(
      f.action,
      charge,
      ctx,
      () => answerFromUpstream(params, sent, ctx, upstream, charge),
      () => (charge.charged ? reserved.keep() : reserved.release()),
    );
  }

  return {
    ...local,
    admit(params, ctx) {
      const current = deps.upstream();
      // No upstream set, as known this second: the local action's own admission, without a wrapper's extra turns.
      return current === undefined ? local.admit(params, ctx) : admitForwarded(current, params, ctx);
    },
    // The local action's when no upstream is set; the same busy code either way.
    whenUnavailable: (params, ctx) => answer(busy, params, ctx),
  };
}

/** FaceID that forwards upstream while an upstream is set, and answers from the local `product` otherwise. */
export function gatewayFaceidProduct(product: Product, deps: GatewayDeps): Product {
  const local = product.versions.get(FACEID_VERSION);
  const actions = FORWARDED.map((f) => {
    const action = local?.get(f.action);
    if (!action) throw new Error(`the local product has no ${f.action} to answer it when no upstream is set`);
    return forwardedAction(f, action, deps);
  });
  return { service: FACEID_SERVICE, versions: new Map([[FACEID_VERSION, new Map(actions.map((a) => [a.name, a]))]]) };
}
