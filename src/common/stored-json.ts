/**
 * JSON read back from storage (meta values, scenario specs, the batch journal) is narrowed field by field through
 * these guards, never cast to its type: a damaged or hand-edited value becomes one clear StoredDataError that names
 * what is damaged and which field, never an object with undefined fields further on. Messages never quote the value.
 */

export class StoredDataError extends Error {}

export type JsonObject = Record<string, unknown>;

/** Any parsed JSON (stored, or from a request or a file) is an object only through this guard. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What a damaged value is, and what the operator can do about it: the two halves of every StoredDataError. */
export interface StoredName {
  /** "The upstream (sanyao upstream set)" */
  what: string;
  /** "Set it again with `sanyao upstream set`." */
  fix: string;
}

function damaged(name: StoredName, detail: string): StoredDataError {
  return new StoredDataError(`${name.what} is damaged in the store (${detail}). ${name.fix}`);
}

/** The stored text as a JSON object. */
export function storedObject(text: string, name: StoredName): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(name, "not JSON");
  }
  if (!isJsonObject(value)) throw damaged(name, "not a JSON object");
  return value;
}

/** Reads the fields of one stored object, each with the type it must have. */
export class StoredFields {
  constructor(
    private readonly fields: JsonObject,
    private readonly name: StoredName,
    /** where these fields sit in the stored value ("publicKeys."), for the error */
    private readonly prefix = "",
  ) {}

  private damaged(key: string, wanted: string): StoredDataError {
    return damaged(this.name, `${this.prefix}${key} is not ${wanted}`);
  }

  string(key: string): string {
    const v = this.fields[key];
    if (typeof v !== "string") throw this.damaged(key, "a string");
    return v;
  }

  optionalString(key: string): string | undefined {
    return this.fields[key] === undefined ? undefined : this.string(key);
  }

  number(key: string): number {
    const v = this.fields[key];
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.damaged(key, "a number");
    return v;
  }

  optionalNumber(key: string): number | undefined {
    return this.fields[key] === undefined ? undefined : this.number(key);
  }

  optionalBoolean(key: string): boolean | undefined {
    const v = this.fields[key];
    if (v !== undefined && typeof v !== "boolean") throw this.damaged(key, "true or false");
    return v;
  }

  /** A nested object's fields. */
  object(key: string): StoredFields {
    const v = this.fields[key];
    if (!isJsonObject(v)) throw this.damaged(key, "an object");
    return new StoredFields(v, this.name, `${this.prefix}${key}.`);
  }

  optionalObject(key: string): StoredFields | undefined {
    return this.fields[key] === undefined ? undefined : this.object(key);
  }

  /** A string that must be one of `allowed`. */
  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const v = this.string(key);
    const found = allowed.find((a) => a === v);
    if (found === undefined) throw this.damaged(key, `one of ${allowed.join(", ")}`);
    return found;
  }
}

export function storedFields(text: string, name: StoredName): StoredFields {
  return new StoredFields(storedObject(text, name), name);
}
