/**
 * Business parameters: the schema an action declares, un-flattening of form/query parameters
 * (api3-protocol.md §2.2) and validation in the order of §7.1 step 11:
 * UnknownParameter, MissingParameter, InvalidParameter (type), then the action's own value checks.
 */
import { ApiError } from "./errors";

export type ParamType = "String" | "Integer" | "Boolean" | "StringArray";
export interface ParamSpec {
  type: ParamType;
  required?: boolean;
}
export type ParamSchema = Readonly<Record<string, ParamSpec>>;
export type ParamValue = string | number | boolean | string[];
export type ParamValues = Record<string, ParamValue>;

/** Parameters that carry the protocol, never the business (§2.1); stripped from v1 and TC3 GET parameters. */
export const COMMON_PARAMS = new Set([
  "Action", "Version", "Region", "Timestamp", "Nonce", "SecretId", "Signature", "SignatureMethod", "Token",
  "Language", "RequestClient",
]);

/** Echo a parameter name only when it looks like one: an unknown "name" could be anything a caller typed. */
function shown(name: string): string {
  return /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : "(unprintable name)";
}

function typeError(name: string, type: ParamType): ApiError {
  const expected = { String: "a string", Integer: "an integer", Boolean: "a boolean", StringArray: "an array of strings" }[type];
  return new ApiError("InvalidParameter", `${name} must be ${expected}.`);
}

function checkUnknownAndMissing(schema: ParamSchema, present: Iterable<string>): void {
  const seen = new Set<string>();
  for (const name of present) {
    if (!Object.hasOwn(schema, name)) throw new ApiError("UnknownParameter", `The parameter ${shown(name)} is not defined for this action.`);
    seen.add(name);
  }
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.required && !seen.has(name)) throw new ApiError("MissingParameter", `The parameter ${name} is required.`);
  }
}

/** JSON bodies (style A): values keep their JSON types; null counts as absent (the Node SDK strips nulls). */
export function validateJsonParams(schema: ParamSchema, body: Record<string, unknown>): ParamValues {
  const entries = Object.entries(body).filter(([, v]) => v !== null && v !== undefined);
  checkUnknownAndMissing(schema, entries.map(([k]) => k));
  const values: ParamValues = {};
  for (const [name, value] of entries) {
    const { type } = schema[name]!;
    const ok =
      (type === "String" && typeof value === "string") ||
      (type === "Integer" && typeof value === "number" && Number.isSafeInteger(value)) ||
      (type === "Boolean" && typeof value === "boolean") ||
      (type === "StringArray" && Array.isArray(value) && value.every((v) => typeof v === "string"));
    if (!ok) throw typeError(name, type);
    values[name] = value as ParamValue;
  }
  return values;
}

/** Flattened parameters (GET, form): every leaf arrives as a string; arrays as Name.0, Name.1, … */
export function validateFlatParams(schema: ParamSchema, flat: ReadonlyMap<string, string>): ParamValues {
  const scalars = new Map<string, string>();
  const arrays = new Map<string, Map<number, string>>();
  for (const [key, value] of flat) {
    if (COMMON_PARAMS.has(key)) continue;
    const dot = key.indexOf(".");
    if (dot === -1) {
      scalars.set(key, value);
      continue;
    }
    const name = key.slice(0, dot);
    const index = key.slice(dot + 1);
    if (!Object.hasOwn(schema, name)) throw new ApiError("UnknownParameter", `The parameter ${shown(name)} is not defined for this action.`);
    if (schema[name]!.type !== "StringArray" || !/^(0|[1-9]\d{0,3})$/.test(index)) throw typeError(name, schema[name]!.type);
    let items = arrays.get(name);
    if (!items) arrays.set(name, (items = new Map()));
    items.set(Number(index), value);
  }
  checkUnknownAndMissing(schema, [...scalars.keys(), ...arrays.keys()]);

  const values: ParamValues = {};
  for (const [name, raw] of scalars) {
    const { type } = schema[name]!;
    if (type === "String") values[name] = raw;
    else if (type === "Integer" && /^-?(0|[1-9]\d*)$/.test(raw) && Number.isSafeInteger(Number(raw))) values[name] = Number(raw);
    else if (type === "Boolean" && (raw === "true" || raw === "false")) values[name] = raw === "true";
    else throw typeError(name, type);
  }
  for (const [name, items] of arrays) {
    const list: string[] = [];
    for (let i = 0; i < items.size; i++) {
      const item = items.get(i);
      if (item === undefined) throw new ApiError("InvalidParameter", `${name} has a gap in its indices.`);
      list.push(item);
    }
    values[name] = list;
  }
  return values;
}

/** Decodes application/x-www-form-urlencoded text; a name given twice is ambiguous (§2.2 step 2). */
export function decodeForm(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (params.has(key)) throw new ApiError("InvalidParameter", `The parameter ${shown(key.split(".")[0]!)} is given more than once.`);
    params.set(key, value);
  }
  return params;
}
