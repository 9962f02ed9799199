/** One typed configuration from the environment (SANYAO_*) and command-line overrides, checked at start-up. */
import type { Language } from "./api3/errors";
import { defaultPolicy, type PrecheckPolicy } from "./rules/policy";

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  defaultLanguage: Language;
  /** budget of one verification source lookup; past it the answer is -11 */
  sourceTimeoutMs: number;
  policy: PrecheckPolicy;
  logLevel: string;
}

export type ConfigOverrides = Partial<Pick<Config, "dataDir" | "host" | "port">>;

export class ConfigError extends Error {}

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}.`);
  return n;
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined || raw === "") return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of: ${allowed.join(", ")}.`);
  return raw as T;
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const port = overrides.port ?? int("SANYAO_PORT", env.SANYAO_PORT, 8080, 0, 65535);
  return {
    dataDir: overrides.dataDir ?? (env.SANYAO_DATA_DIR || "./data"),
    host: overrides.host ?? (env.SANYAO_HOST || "127.0.0.1"),
    port,
    defaultLanguage: oneOf("SANYAO_LANGUAGE", env.SANYAO_LANGUAGE, ["en-US", "zh-CN"], "en-US"),
    sourceTimeoutMs: int("SANYAO_SOURCE_TIMEOUT_MS", env.SANYAO_SOURCE_TIMEOUT_MS, 3000, 1, 60_000),
    policy: {
      ...defaultPolicy,
      dataCards: oneOf("SANYAO_DATA_CARDS", env.SANYAO_DATA_CARDS, ["valid", "unsupported"], defaultPolicy.dataCards),
      broadnet: oneOf("SANYAO_BROADNET", env.SANYAO_BROADNET, ["valid", "unsupported"], defaultPolicy.broadnet),
      foreignPermanentResident:
        oneOf("SANYAO_FOREIGN_PR", env.SANYAO_FOREIGN_PR, ["true", "false"], "true") === "true",
    },
    logLevel: oneOf("SANYAO_LOG_LEVEL", env.SANYAO_LOG_LEVEL, ["debug", "info", "warn", "error", "silent"], "info"),
  };
}
