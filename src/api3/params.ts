/**
 * Business parameters: the schema an action declares, un-flattening of form/query parameters (`A.0=x`,
 * `B.C=y`) and validation in this order: UnknownParameter, MissingParameter, InvalidParameter (type), then the
 * action's own value checks.
 */
import { ApiError } from "./errors";

export type ScalarType = "String" | "Integer" | "Boolean";
export type ParamSpec =
  | { type: ScalarType | "StringArray"; required?: boolean }
  | { type: "Object" | "ObjectArray"; required?: boolean; fields: ParamSchema };
export type ParamSchema = Readonly<Record<string, ParamSpec>>;
export type ParamValue = string | number | boolean | string[] | ParamValues | ParamValues[];
export interface ParamValues {
  [name: string]: ParamValue;
}

type ScalarValue<T> = T extends "String" ? string : T extends "Integer" ? number : T extends "Boolean" ? boolean : string[];
type ValueOf<S extends ParamSpec> = S extends { type: "Object"; fields: infer F extends ParamSchema }
  ? ParamsOf<F>
  : S extends { type: "ObjectArray"; fields: infer F extends ParamSchema }
    ? ParamsOf<F>[]
    : ScalarValue<S["type"]>;
type RequiredNames<S extends ParamSchema> = { [K in keyof S]: S[K] extends { required: true } ? K : never }[keyof S];
/** The values a schema admits, as a type: what an action's handler receives once they are validated. */
export type ParamsOf<S extends ParamSchema> = { readonly [K in RequiredNames<S>]: ValueOf<S[K]> } & {
  readonly [K in Exclude<keyof S, RequiredNames<S>>]?: ValueOf<S[K]>;
};

/** Parameters that carry the protocol, never the business; stripped from v1 and TC3 GET parameters. */
export const COMMON_PARAMS = new Set([
  "Action",
  "Version",
  "Region",
  "Timestamp",
  "Nonce",
  "SecretId",
  "Signature",
  "SignatureMethod",
  "Token",
  "Language",
  "RequestClient",
]);

/** Echo a parameter name only when it looks like one: an unknown "name" could be anything a caller typed. */
function shown(name: string): string {
  return /^[A-Za-z][A-Za-z0-9_.]{0,127}$/.test(name) ? name : "(unprintable name)";
}

const EXPECTED: Record<ParamSpec["type"], string> = {
  String: "a string",
  Integer: "an integer",
  Boolean: "a boolean",
  StringArray: "an array of strings",
  Object: "an object",
  ObjectArray: "an array of objects",
};

function typeError(name: string, spec: ParamSpec): ApiError {
  return new ApiError("InvalidParameter", `${shown(name)} must be ${EXPECTED[spec.type]}.`);
}

/** A JSON object (not null, not an array), narrowed without a cast. */
export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Validates one object against its schema. `flat` values came from a query or form: every leaf is a string and
 * Integer/Boolean are parsed strictly; JSON values must already have their JSON type. null counts as absent
 * (the Node SDK strips nulls).
 */
function validateObject(schema: ParamSchema, input: Record<string, unknown>, flat: boolean, prefix = ""): ParamValues {
  // Unknown names first, in the order sent; then missing ones, in the schema's order; then each value's type.
  const names = Object.keys(input);
  for (const name of names) {
    if (input[name] !== null && input[name] !== undefined && !Object.hasOwn(schema, name)) {
      throw new ApiError("UnknownParameter", `The parameter ${shown(prefix + name)} is not defined for this action.`);
    }
  }
  for (const name of requiredNames(schema)) {
    const value = Object.hasOwn(input, name) ? input[name] : undefined;
    if (value === null || value === undefined) throw new ApiError("MissingParameter", `The parameter ${prefix + name} is required.`);
  }
  const values: ParamValues = {};
  for (const name of names) {
    const value = input[name];
    if (value === null || value === undefined) continue;
    // the schema's own entry (checked above), never an inherited member
    const spec = schema[name];
    if (spec) values[name] = validateValue(spec, value, flat, prefix + name);
  }
  return values;
}

/** A schema's required names, in its order: found once per schema, not on every call. */
const requiredOf = new WeakMap<ParamSchema, readonly string[]>();
function requiredNames(schema: ParamSchema): readonly string[] {
  let names = requiredOf.get(schema);
  if (!names) {
    names = Object.keys(schema).filter((name) => schema[name]?.required === true);
    requiredOf.set(schema, names);
  }
  return names;
}

function validateValue(spec: ParamSpec, value: unknown, flat: boolean, name: string): ParamValue {
  switch (spec.type) {
    case "String":
      if (typeof value === "string") return value;
      break;
    case "Integer":
      if (!flat && typeof value === "number" && Number.isSafeInteger(value)) return value;
      if (flat && typeof value === "string" && /^-?(0|[1-9]\d{0,15})$/.test(value) && Number.isSafeInteger(Number(value)))
        return Number(value);
      break;
    case "Boolean":
      if (!flat && typeof value === "boolean") return value;
      if (flat && (value === "true" || value === "false")) return value === "true";
      break;
    case "StringArray":
      if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
      break;
    case "Object":
      if (isPlainObject(value)) return validateObject(spec.fields, value, flat, `${name}.`);
      break;
    case "ObjectArray":
      if (Array.isArray(value) && value.every(isPlainObject)) {
        return value.map((item, i) => validateObject(spec.fields, item, flat, `${name}.${i}.`));
      }
      break;
  }
  throw typeError(name, spec);
}

/** JSON bodies (style A). */
export function validateJsonParams(schema: ParamSchema, body: Record<string, unknown>): ParamValues {
  return validateObject(schema, body, false);
}

interface FlatNode {
  value?: string;
  children: Map<string, FlatNode>;
}

/** Builds nested values from dotted names (Tags.0.TagKey) guided by the schema; leaves stay strings. */
function unflatten(node: FlatNode, spec: ParamSpec | undefined, name: string): unknown {
  const isArray = spec?.type === "StringArray" || spec?.type === "ObjectArray";
  if (node.children.size === 0) return node.value;
  if (node.value !== undefined || !spec || spec.type === "String" || spec.type === "Integer" || spec.type === "Boolean") {
    throw spec ? typeError(name, spec) : new ApiError("UnknownParameter", `The parameter ${shown(name)} is not defined for this action.`);
  }
  if (isArray) {
    const items: unknown[] = [];
    for (let i = 0; i < node.children.size; i++) {
      const child = node.children.get(String(i));
      if (!child) throw new ApiError("InvalidParameter", `${shown(name)} must be indexed 0, 1, 2, … without gaps.`);
      items.push(
        spec.type === "ObjectArray"
          ? unflattenObject(child, spec.fields, `${name}.${i}`)
          : unflatten(child, { type: "String" }, `${name}.${i}`),
      );
    }
    return items;
  }
  return unflattenObject(node, spec.type === "Object" ? spec.fields : {}, name);
}

function unflattenObject(node: FlatNode, schema: ParamSchema, name: string): Record<string, unknown> {
  if (node.value !== undefined) throw new ApiError("InvalidParameter", `${shown(name)} must be an object.`);
  // Names are the caller's: only the schema's own entries are specs, and every name (`__proto__` too) becomes an
  // own property, for validateObject to refuse as unknown.
  return Object.fromEntries(
    [...node.children].map(([key, child]) => [
      key,
      unflatten(child, Object.hasOwn(schema, key) ? schema[key] : undefined, name ? `${name}.${key}` : key),
    ]),
  );
}

/** Flattened parameters (GET, form): every leaf arrives as a string; arrays as Name.0, Name.1, … */
export function validateFlatParams(schema: ParamSchema, flat: ReadonlyMap<string, string>): ParamValues {
  const root: FlatNode = { children: new Map() };
  for (const [key, value] of flat) {
    if (COMMON_PARAMS.has(key)) continue;
    let node = root;
    for (const segment of key.split(".")) {
      let child = node.children.get(segment);
      if (!child) {
        child = { children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.value = value;
  }
  return validateObject(schema, unflattenObject(root, schema, ""), true);
}

/**
 * A string of its own. URLSearchParams hands out slices of the text it decodes (V8 sliced strings), and a slice keeps
 * its whole parent alive: a SecretId kept by the key cache or the request log would keep the call's body, up to
 * 1 MiB, with it. Concatenating then slicing makes V8 copy the characters into a new, small parent. Slices shorter
 * than 13 characters are copies already (V8's SlicedString::kMinLength), and most names and values are: skipping
 * them keeps the cost at about 1 µs for a usual form.
 */
function ownCopy(s: string): string {
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

/** Decodes application/x-www-form-urlencoded text; a name given twice is ambiguous. */
export function decodeForm(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (params.has(key)) throw new ApiError("InvalidParameter", `The parameter ${shown(key)} is given more than once.`);
    params.set(ownCopy(key), ownCopy(value));
  }
  return params;
}
