/**
 * Checking a parsed seed file field by field. Every problem is kept with where it is (`accounts[1].dailyCap`), so a
 * bad seed is refused with all its problems at once, each naming the file, the entry and the field.
 */
import { formatAmount, parseAmount } from "../common/money";
import { isJsonObject, type JsonObject } from "../common/stored-json";

/** A seed refused whole: one line per problem, each `FILE: ENTRY.FIELD: what is wrong`. Nothing of it was applied. */
/** A field name shown back in a refusal: a word of up to 40 characters (anything else may be a value). */
const FIELD_NAME = /^[A-Za-z$][A-Za-z0-9_$]{0,39}$/;

export class SeedError extends Error {}

/** How many problems a refusal lists (a file of 10,000 bad rows is not printed whole). */
export const MAX_PROBLEMS = 20;

export class Problems {
  readonly list: string[] = [];
  private more = 0;

  add(at: string, message: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(`${at}: ${message}`);
    else this.more++;
  }

  get count(): number {
    return this.list.length + this.more;
  }

  /** Throws the SeedError naming `file` when any problem was found. */
  throwIfAny(file: string): void {
    if (this.count === 0) return;
    const lines = this.list.map((p) => `${file}: ${p}`);
    if (this.more > 0) lines.push(`${file}: … and ${this.more} more`);
    throw new SeedError(`${lines.join("\n")}\nThe seed was refused whole: nothing of it was applied.`);
  }
}

/** Why phone and identity numbers are strings: what a JSON number would do to them. */
export const NUMBER_AS_TEXT =
  "must be a string in quotes: phone and identity numbers are text (as a JSON number an 18-digit identity number loses its last digits, and one ending in X cannot be written)";

/** The fields of one object of the seed, each read with the type it must have; a wrong one is a problem, never a throw. */
export class Entry {
  constructor(
    readonly fields: JsonObject,
    /** where this object is: "accounts[1]", "upstream" */
    readonly at: string,
    readonly problems: Problems,
  ) {}

  /** Fields not in `allowed` are problems (a typo must not be ignored); "$comment" is allowed anywhere. */
  only(allowed: readonly string[]): this {
    for (const key of Object.keys(this.fields)) {
      if (key !== "$comment" && !allowed.includes(key)) {
        this.problems.add(this.unknownPath(key), `is not a field here (fields: ${allowed.join(", ")})`);
      }
    }
    return this;
  }

  has(key: string): boolean {
    return this.fields[key] !== undefined;
  }

  /** where a field of this object is: "accounts[1].dailyCap", or "upstream" at the top */
  path(key: string): string {
    return this.at === "" ? key : `${this.at}.${key}`;
  }

  /** The path of a field name the seed wrote that is not one we know: echoed only when it looks like a name. */
  unknownPath(key: string): string {
    return this.path(FIELD_NAME.test(key) ? key : "(a field name that is not a word)");
  }

  private fail(key: string, message: string): undefined {
    this.problems.add(this.path(key), message);
    return undefined;
  }

  string(key: string, { required = false, numberAsText = false } = {}): string | undefined {
    const v = this.fields[key];
    if (v === undefined) return required ? this.fail(key, "is required") : undefined;
    if (typeof v === "number" && numberAsText) return this.fail(key, NUMBER_AS_TEXT);
    if (typeof v !== "string") return this.fail(key, "must be a string");
    if (required && v.trim() === "") return this.fail(key, "must not be empty");
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.fields[key];
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") return this.fail(key, "must be true or false");
    return v;
  }

  wholeNumber(key: string, min: number, max: number): number | undefined {
    const v = this.fields[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      return this.fail(key, `must be a whole number ≥ ${min}${max < 1_000_000_000 ? ` and ≤ ${max}` : ""}`);
    }
    return v;
  }

  /** An amount in CNY, as a string ("12.50") or a number (12.5); in fen. */
  amount(key: string, { negative = false, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
    const v = this.fields[key];
    if (v === undefined) return undefined;
    const fen = typeof v === "string" || typeof v === "number" ? parseAmount(String(v)) : undefined;
    if (fen === undefined || (!negative && fen < 0)) {
      return this.fail(key, `must be an amount in CNY such as "12.50"${negative ? "" : " (not below 0)"}`);
    }
    if (fen > max) return this.fail(key, `must be at most ${formatAmount(max)}`);
    return fen;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const v = this.fields[key];
    if (v === undefined) return undefined;
    const found = allowed.find((a) => a === v);
    return found ?? this.fail(key, `must be one of: ${allowed.join(", ")}`);
  }

  object(key: string): Entry | undefined {
    const v = this.fields[key];
    if (v === undefined) return undefined;
    if (!isJsonObject(v)) return this.fail(key, "must be an object");
    return new Entry(v, this.path(key), this.problems);
  }

  /** Each element of an array of objects, as an Entry; a non-object element is a problem. */
  objects(key: string): Entry[] {
    const v = this.fields[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.fail(key, "must be an array");
      return [];
    }
    const at = this.path(key);
    return v.flatMap((item: unknown, i) => {
      if (isJsonObject(item)) return [new Entry(item, `${at}[${i}]`, this.problems)];
      this.problems.add(`${at}[${i}]`, "must be an object");
      return [];
    });
  }
}
