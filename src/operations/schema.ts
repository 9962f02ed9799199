/**
 * The shapes of the operations API, written once: each schema is both the JSON Schema the OpenAPI document shows
 * (2020-12, the dialect of OpenAPI 3.1) and the guard that narrows a request's query, path or body to its type. A
 * value that does not fit is one InputError naming the field and what it wants, never the value it got.
 */

import { InputError } from "../common/input-error";

export { InputError };

export type JsonSchema = { [keyword: string]: unknown };

export interface Schema<T> {
  /** the JSON Schema of the document (a $ref for a named one) */
  readonly json: JsonSchema;
  /** named schemas this one uses, for the document's components */
  readonly components: ReadonlyMap<string, JsonSchema>;
  /**
   * Narrows a value to T. `fromText`: the value is the text of a query or path parameter, so numbers and
   * booleans are read from their text.
   */
  parse(value: unknown, at: string, fromText: boolean): T;
}

/** A property an object may go without. */
export interface Optional<T> extends Schema<T> {
  readonly optional: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Props = Record<string, Schema<unknown>>;
type OptionalKeys<P extends Props> = { [K in keyof P]: P[K] extends Optional<unknown> ? K : never }[keyof P];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<P extends Props> = Simplify<
  { [K in Exclude<keyof P, OptionalKeys<P>>]: Infer<P[K]> } & { [K in OptionalKeys<P>]?: Infer<P[K]> }
>;

interface Doc {
  description?: string;
  examples?: unknown[];
}

const NONE: ReadonlyMap<string, JsonSchema> = new Map();

function merged(...parts: ReadonlyArray<ReadonlyMap<string, JsonSchema>>): ReadonlyMap<string, JsonSchema> {
  const all = new Map<string, JsonSchema>();
  for (const part of parts) for (const [name, json] of part) all.set(name, json);
  return all;
}

function docOf(doc: Doc | undefined): JsonSchema {
  return { ...(doc?.description && { description: doc.description }), ...(doc?.examples && { examples: doc.examples }) };
}

const where = (at: string) => (at === "" ? "The body" : at);

export function string(
  options: Doc & { pattern?: RegExp; minLength?: number; maxLength?: number; format?: string; hint?: string } = {},
): Schema<string> {
  const { pattern, minLength, maxLength, format, hint } = options;
  const wants = hint ?? (pattern ? `text of the form ${pattern.source}` : "text");
  return {
    json: {
      type: "string",
      ...(pattern && { pattern: pattern.source }),
      ...(minLength !== undefined && { minLength }),
      ...(maxLength !== undefined && { maxLength }),
      ...(format && { format }),
      ...docOf(options),
    },
    components: NONE,
    parse(value, at) {
      if (typeof value !== "string") throw new InputError(`${where(at)} is ${wants}.`);
      const length = [...value].length;
      if (minLength !== undefined && length < minLength)
        throw new InputError(`${where(at)} has at least ${minLength} character${minLength === 1 ? "" : "s"}.`);
      if (maxLength !== undefined && length > maxLength) throw new InputError(`${where(at)} has at most ${maxLength} characters.`);
      if (pattern && !pattern.test(value)) throw new InputError(`${where(at)} is ${wants}.`);
      return value;
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[], options: Doc = {}): Schema<T> {
  return {
    json: { type: "string", enum: [...values], ...docOf(options) },
    components: NONE,
    parse(value, at) {
      const found = values.find((v) => v === value);
      if (found === undefined) throw new InputError(`${where(at)} is one of: ${values.join(", ")}.`);
      return found;
    },
  };
}

export function integer(options: Doc & { minimum?: number; maximum?: number } = {}): Schema<number> {
  const { minimum, maximum } = options;
  const range =
    minimum !== undefined && maximum !== undefined
      ? ` from ${minimum} to ${maximum}`
      : minimum !== undefined
        ? ` of at least ${minimum}`
        : maximum !== undefined
          ? ` of at most ${maximum}`
          : "";
  return {
    json: {
      type: "integer",
      ...(minimum !== undefined && { minimum }),
      ...(maximum !== undefined && { maximum }),
      ...docOf(options),
    },
    components: NONE,
    parse(value, at, fromText) {
      const n = fromText && typeof value === "string" && /^-?\d{1,16}$/.test(value) ? Number(value) : value;
      if (
        typeof n !== "number" ||
        !Number.isSafeInteger(n) ||
        (minimum !== undefined && n < minimum) ||
        (maximum !== undefined && n > maximum)
      ) {
        throw new InputError(`${where(at)} is a whole number${range}.`);
      }
      return n;
    },
  };
}

export function boolean(options: Doc = {}): Schema<boolean> {
  return {
    json: { type: "boolean", ...docOf(options) },
    components: NONE,
    parse(value, at, fromText) {
      const b = fromText && (value === "true" || value === "false") ? value === "true" : value;
      if (typeof b !== "boolean") throw new InputError(`${where(at)} is true or false.`);
      return b;
    },
  };
}

/** A number in the answers only (a mean, a share): requests take whole numbers. */
export function number(options: Doc = {}): Schema<number> {
  return {
    json: { type: "number", ...docOf(options) },
    components: NONE,
    parse(value, at) {
      if (typeof value !== "number" || !Number.isFinite(value)) throw new InputError(`${where(at)} is a number.`);
      return value;
    },
  };
}

export function array<T>(item: Schema<T>, options: Doc & { maxItems?: number } = {}): Schema<T[]> {
  const { maxItems } = options;
  return {
    json: { type: "array", items: item.json, ...(maxItems !== undefined && { maxItems }), ...docOf(options) },
    components: item.components,
    parse(value, at) {
      if (!Array.isArray(value)) throw new InputError(`${where(at)} is a list.`);
      if (maxItems !== undefined && value.length > maxItems) throw new InputError(`${where(at)} has at most ${maxItems} items.`);
      return value.map((v: unknown, i) => item.parse(v, `${at}[${i}]`, false));
    },
  };
}

export function optional<T>(schema: Schema<T>): Optional<T | undefined> {
  return {
    ...schema,
    optional: true,
    parse: (value, at, fromText) => (value === undefined ? undefined : schema.parse(value, at, fromText)),
  };
}

/** A value of either schema (the first that takes it): a number given as a number or as its text. */
export function either<A, B>(first: Schema<A>, second: Schema<B>, options: Doc = {}): Schema<A | B> {
  return {
    json: { anyOf: [first.json, second.json], ...docOf(options) },
    components: merged(first.components, second.components),
    parse(value, at, fromText) {
      try {
        return first.parse(value, at, fromText);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        return second.parse(value, at, fromText);
      }
    },
  };
}

/** null, or a value of `schema` (answers: "none"). */
export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return {
    json: { anyOf: [schema.json, { type: "null" }] },
    components: schema.components,
    parse: (value, at, fromText) => (value === null ? null : schema.parse(value, at, fromText)),
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** An object schema, its properties listed (the document's query and path parameters are listed one by one). */
export interface ObjectSchema<T> extends Schema<T> {
  readonly fields: ReadonlyArray<{ name: string; json: JsonSchema; required: boolean }>;
}

/** An object with these properties and no others; the optional ones wrapped in optional(). */
export function object<P extends Props>(properties: P, options: Doc = {}): ObjectSchema<ObjectOf<P>> {
  const names = Object.keys(properties);
  const required = names.filter((name) => !("optional" in (properties[name] ?? {})));
  return {
    fields: names.map((name) => ({ name, json: properties[name]?.json ?? {}, required: required.includes(name) })),
    json: {
      type: "object",
      properties: Object.fromEntries(names.map((name) => [name, properties[name]?.json])),
      ...(required.length > 0 && { required }),
      additionalProperties: false,
      ...docOf(options),
    },
    components: merged(...Object.values(properties).map((p) => p.components)),
    parse(value, at, fromText) {
      if (!isObject(value)) throw new InputError(`${where(at)} is a JSON object.`);
      const prefix = at === "" ? "" : `${at}.`;
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(properties, key)) {
          throw new InputError(`${where(at)} has no field ${JSON.stringify(key.slice(0, 64))} (fields: ${names.join(", ") || "none"}).`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const name of names) {
        const schema = properties[name];
        const given = value[name];
        if (schema === undefined) continue;
        if (given === undefined && required.includes(name)) throw new InputError(`${prefix}${name} is required.`);
        const parsed = schema.parse(given, `${prefix}${name}`, fromText);
        if (parsed !== undefined) out[name] = parsed;
      }
      // Each property was narrowed by its own schema just above, and no other property is let through.
      return out as ObjectOf<P>;
    },
  };
}

/** An object of any keys matching `key`, each with a value of `value` (a map). */
export function record<T>(
  value: Schema<T>,
  options: Doc & { key?: RegExp; keyHint?: string; maxProperties?: number } = {},
): Schema<Record<string, T>> {
  const { key, keyHint, maxProperties } = options;
  return {
    json: {
      type: "object",
      additionalProperties: value.json,
      ...(key && { propertyNames: { pattern: key.source } }),
      ...(maxProperties !== undefined && { maxProperties }),
      ...docOf(options),
    },
    components: value.components,
    parse(given, at) {
      if (!isObject(given)) throw new InputError(`${where(at)} is a JSON object.`);
      const entries = Object.entries(given);
      if (maxProperties !== undefined && entries.length > maxProperties) {
        throw new InputError(`${where(at)} has at most ${maxProperties} entries.`);
      }
      const out: Record<string, T> = {};
      for (const [k, v] of entries) {
        if (key && !key.test(k))
          throw new InputError(`${where(at)}: ${JSON.stringify(k.slice(0, 64))} is not ${keyHint ?? "a valid name"}.`);
        out[k] = value.parse(v, `${at}.${k}`, false);
      }
      return out;
    },
  };
}

/** A schema the document lists once under components/schemas and points to by $ref. */
export function named<T>(name: string, schema: Schema<T>): Schema<T> {
  return {
    json: { $ref: `#/components/schemas/${name}` },
    components: merged(schema.components, new Map([[name, schema.json]])),
    parse: (value, at, fromText) => schema.parse(value, at, fromText),
  };
}
