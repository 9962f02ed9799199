/**
 * Reading settings with where each came from: a command-line flag, the environment (SANYAO_*), or the default.
 * config.ts reads every setting through one SettingReader, so `sanyao config` shows what loading actually did.
 */

export type SettingSource = "default" | "environment" | "flag";

/** One setting as `sanyao config` shows it; a secret's value is only "set" or "unset". */
export interface Setting {
  /** the environment variable */
  name: string;
  /** the command-line flag that sets it too, if any */
  flag?: string;
  /** null: unset (no default) */
  value: string | number | boolean | null;
  source: SettingSource;
}

export type Shown = Setting["value"];

export interface ReadOptions<T> {
  /** the flag's name, for the listing */
  flag?: string;
  /** the flag's value when the command line gave one (undefined: not given) */
  given?: T;
  /** how the value is shown (default: as it is; objects as JSON) */
  show?: (value: T) => Shown;
}

/** Shows a value as it is: text, numbers and booleans unchanged, undefined as unset, anything else as JSON. */
export function plain(value: unknown): Shown {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  return JSON.stringify(value);
}

/** A secret: whether it is set, never its value. */
export const secret = (value: unknown): Shown => (value === undefined || value === "" ? "unset" : "set");

/** Query parameters that carry a credential (node-postgres reads `?password=`). */
const SECRET_PARAMETER = /pass|secret|key|token/i;

/** A URL with its passwords replaced (in its user part and its query), so a connection string may be shown. */
export function withoutPassword(value: string | undefined): Shown {
  if (value === undefined) return null;
  try {
    const url = new URL(value);
    if (url.password) url.password = "****";
    for (const name of [...url.searchParams.keys()]) if (SECRET_PARAMETER.test(name)) url.searchParams.set(name, "****");
    return url.toString();
  } catch {
    return "(set; not a URL)";
  }
}

export class SettingReader {
  readonly settings: Setting[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** The environment's text of a setting; an empty variable counts as unset. */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === "" ? undefined : value;
  }

  /**
   * One setting: the flag's value when given, else `parse` of the environment's text (undefined when unset: `parse`
   * returns the default then). Recorded with its source.
   */
  read<T>(name: string, parse: (raw: string | undefined) => T, options: ReadOptions<T> = {}): T {
    const raw = this.raw(name);
    const fromFlag = options.given !== undefined;
    const value = options.given !== undefined ? options.given : parse(raw);
    this.settings.push({
      name,
      ...(options.flag !== undefined && { flag: options.flag }),
      value: (options.show ?? plain)(value),
      source: fromFlag ? "flag" : raw !== undefined ? "environment" : "default",
    });
    return value;
  }
}
