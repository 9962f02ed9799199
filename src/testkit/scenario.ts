/**
 * A test-kit scenario: which calls it takes (account, and optionally key, action, phone or identity number) and
 * what it makes of them, for how many, how often and until when. Phones and identity numbers are kept as keyed
 * hashes beside their masks, never raw. One parser for the CLI and the operations API.
 */
import { randomBytes } from "node:crypto";
import { ERRORS, type ErrorCode } from "../api3/errors";
import type { Keyring } from "../common/keyring";
import { maskIdCard, maskPhone } from "../common/privacy";
import { scriptableResults } from "../faceid/scripted";
import { cloudauthScriptable } from "../cloudauth/scripted";
import { normaliseIdCard } from "../rules/idcard";
import { normalisePhone } from "../rules/phone";
import type { ScenarioRow } from "../store/ports";
import { StoredDataError, type StoredFields, storedFields } from "../common/stored-json";

export type StoredEffect =
  | { kind: "result"; result: string }
  | { kind: "error"; code: ErrorCode }
  | { kind: "delay"; minMs: number; maxMs: number }
  | { kind: "reset" }
  | { kind: "hang" }
  | { kind: "clock"; offsetMs: number };

export interface ScenarioSpec {
  accountId: string;
  secretId?: string;
  action?: string;
  phoneHash?: string;
  phoneMasked?: string;
  idCardHash?: string;
  idCardMasked?: string;
  effect: StoredEffect;
  /** 0 < p ≤ 1: the share of matching calls taken */
  probability: number;
  /** ms since the epoch (server clock); none: until removed or used up */
  untilMs?: number;
  /** calls to take; none: unlimited */
  times?: number;
  /** fixes the sequence of probability draws, for a repeatable test */
  seed?: number;
}

export interface Scenario extends ScenarioSpec {
  id: string;
  remaining: number | null;
  createdAt: string;
}

/** A scenario as the CLI and the operations API take it. */
export interface ScenarioInput {
  account?: unknown;
  secretId?: unknown;
  action?: unknown;
  phone?: unknown;
  idCard?: unknown;
  result?: unknown;
  error?: unknown;
  /** "N" or "N-M" milliseconds, or a number */
  delayMs?: unknown;
  reset?: unknown;
  hang?: unknown;
  /** seconds the matching calls' clock is moved (negative: back) */
  clockOffsetS?: unknown;
  times?: unknown;
  probability?: unknown;
  /** an ISO time */
  until?: unknown;
  seed?: unknown;
}

export class ScenarioInputError extends Error {}

const ACTION_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const MAX_DELAY_MS = 600_000;

const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code);

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new ScenarioInputError(`${name} must be a string.`);
  return value;
}

function delay(value: unknown): { minMs: number; maxMs: number } {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : "";
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const minMs = Number(m?.[1]);
  const maxMs = m?.[2] === undefined ? minMs : Number(m[2]);
  if (!m || maxMs < minMs || maxMs > MAX_DELAY_MS) {
    throw new ScenarioInputError(`delay is N or N-M milliseconds (N ≤ M ≤ ${MAX_DELAY_MS}), such as 250 or 100-400.`);
  }
  return { minMs, maxMs };
}

function effectOf(input: ScenarioInput, action: string | undefined): StoredEffect {
  const given = [
    input.result !== undefined && "result",
    input.error !== undefined && "error",
    input.delayMs !== undefined && "delay",
    input.reset === true && "reset",
    input.hang === true && "hang",
    input.clockOffsetS !== undefined && "clock",
  ].filter(Boolean);
  if (given.length !== 1) throw new ScenarioInputError("Give exactly one of: result, error, delay, reset, hang, clock offset.");
  if (input.clockOffsetS !== undefined) {
    const s = Number(input.clockOffsetS);
    if (!Number.isInteger(s) || Math.abs(s) > 315_360_000)
      throw new ScenarioInputError("The clock offset is whole seconds, at most ten years either way.");
    return { kind: "clock", offsetMs: s * 1000 };
  }
  if (input.result !== undefined) {
    const result = String(input.result);
    if (!action) throw new ScenarioInputError("A result scenario names its action (a Result means something only in one action's table).");
    const results = scriptableResults(action) ?? cloudauthScriptable(action);
    if (!results) throw new ScenarioInputError(`${action} has no result table; give it an error, delay, reset or hang.`);
    if (!results.has(result)) throw new ScenarioInputError(`${action} has no Result ${result} (its table: ${[...results].join(", ")}).`);
    return { kind: "result", result };
  }
  if (input.error !== undefined) {
    const code = String(input.error);
    if (!isErrorCode(code)) throw new ScenarioInputError(`${code} is not an API 3.0 error code this server answers.`);
    return { kind: "error", code };
  }
  if (input.delayMs !== undefined) return { kind: "delay", ...delay(input.delayMs) };
  return input.reset === true ? { kind: "reset" } : { kind: "hang" };
}

/** Checks the input and turns the numbers it matches on into keyed hashes; the account must exist (checked by the caller). */
export function parseScenario(input: ScenarioInput, keyring: Keyring): ScenarioSpec {
  const accountId = optionalText(input.account, "account");
  if (!accountId) throw new ScenarioInputError("A scenario belongs to an account: give account.");
  const secretId = optionalText(input.secretId, "secretId");
  const action = optionalText(input.action, "action");
  if (action !== undefined && !ACTION_NAME.test(action))
    throw new ScenarioInputError("action is an action name, such as PhoneVerification.");
  const spec: ScenarioSpec = { accountId, effect: effectOf(input, action), probability: 1 };
  if (spec.effect.kind === "clock" && (input.phone !== undefined || input.idCard !== undefined)) {
    throw new ScenarioInputError("A clock scenario acts before the parameters are read: match it by account, key and action only.");
  }
  if (secretId) spec.secretId = secretId;
  if (action) spec.action = action;
  const phone = optionalText(input.phone, "phone");
  if (phone !== undefined) {
    const national = normalisePhone(phone);
    spec.phoneHash = keyring.hash("phone", national).toString("base64url");
    spec.phoneMasked = maskPhone(national);
  }
  const idCard = optionalText(input.idCard, "idCard");
  if (idCard !== undefined) {
    const id = normaliseIdCard(idCard);
    spec.idCardHash = keyring.hash("idcard", id).toString("base64url");
    spec.idCardMasked = maskIdCard(id);
  }
  if (input.times !== undefined) {
    const times = Number(input.times);
    if (!Number.isInteger(times) || times < 1 || times > 1_000_000)
      throw new ScenarioInputError("times is a whole number from 1 to 1000000.");
    spec.times = times;
  }
  if (input.probability !== undefined) {
    const p = Number(input.probability);
    if (!(p > 0 && p <= 1)) throw new ScenarioInputError("probability is a number above 0 and at most 1, such as 0.5.");
    spec.probability = p;
  }
  if (input.until !== undefined) {
    const ms = typeof input.until === "string" ? Date.parse(input.until) : Number.NaN;
    if (Number.isNaN(ms)) throw new ScenarioInputError("until is a time such as 2026-12-02T12:00:00Z.");
    spec.untilMs = ms;
  }
  if (input.seed !== undefined) {
    const seed = Number(input.seed);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new ScenarioInputError("seed is a whole number from 0 to 4294967295.");
    spec.seed = seed;
  }
  return spec;
}

export function newScenarioRow(spec: ScenarioSpec, now: Date = new Date()): ScenarioRow {
  return {
    id: `scn-${randomBytes(6).toString("hex")}`,
    accountId: spec.accountId,
    spec: JSON.stringify(spec),
    remaining: spec.times ?? null,
    createdAt: now.toISOString(),
  };
}

const EFFECT_KINDS = ["result", "error", "delay", "reset", "hang", "clock"] as const;

function storedEffect(f: StoredFields): StoredEffect {
  const kind = f.oneOf("kind", EFFECT_KINDS);
  switch (kind) {
    case "result":
      return { kind, result: f.string("result") };
    case "error": {
      const code = f.string("code");
      if (!isErrorCode(code)) throw new StoredDataError(`A scenario's error ${code} is not one this server answers.`);
      return { kind, code };
    }
    case "delay":
      return { kind, minMs: f.number("minMs"), maxMs: f.number("maxMs") };
    case "clock":
      return { kind, offsetMs: f.number("offsetMs") };
    default:
      return { kind };
  }
}

/** A stored scenario, narrowed: a damaged row is one StoredDataError naming it, never a field read as undefined. */
export function scenarioOf(row: ScenarioRow): Scenario {
  const f = storedFields(row.spec, {
    what: `Scenario ${row.id}`,
    fix: `Remove it with \`sanyao scenarios remove ${row.id}\` and add it again.`,
  });
  const spec: ScenarioSpec = {
    accountId: f.string("accountId"),
    secretId: f.optionalString("secretId"),
    action: f.optionalString("action"),
    phoneHash: f.optionalString("phoneHash"),
    phoneMasked: f.optionalString("phoneMasked"),
    idCardHash: f.optionalString("idCardHash"),
    idCardMasked: f.optionalString("idCardMasked"),
    effect: storedEffect(f.object("effect")),
    probability: f.number("probability"),
    untilMs: f.optionalNumber("untilMs"),
    times: f.optionalNumber("times"),
    seed: f.optionalNumber("seed"),
  };
  return { ...spec, id: row.id, remaining: row.remaining, createdAt: row.createdAt };
}

/** A scenario as it is listed: masks, never the hashes. */
export function shownScenario(s: Scenario) {
  const { phoneHash: _p, idCardHash: _i, untilMs, ...rest } = s;
  return { ...rest, until: untilMs === undefined ? undefined : new Date(untilMs).toISOString() };
}

/** An effect as a listing shows it (one object with the fields of every kind, as the operations API answers it). */
export interface ShownEffect {
  kind: StoredEffect["kind"];
  result?: string;
  code?: string;
  minMs?: number;
  maxMs?: number;
  offsetMs?: number;
}

/** One line of what a scenario does, for tables. */
export function effectText(effect: ShownEffect): string {
  const { minMs = 0, maxMs = 0, offsetMs = 0 } = effect;
  switch (effect.kind) {
    case "result":
      return `Result ${effect.result}`;
    case "error":
      return `error ${effect.code}`;
    case "delay":
      return minMs === maxMs ? `delay ${minMs} ms` : `delay ${minMs}-${maxMs} ms`;
    case "clock":
      return `clock ${offsetMs >= 0 ? "+" : ""}${offsetMs / 1000} s`;
    default:
      return effect.kind;
  }
}
