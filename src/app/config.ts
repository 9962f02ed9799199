/** One typed configuration from the environment (SANYAO_*) and command-line overrides, checked at start-up. */
import path from "node:path";
import type { Language } from "../api3/errors";
import { REGION_NAME } from "../api3/router";
import { checkedUrl } from "../gateway/upstream-settings";
import { DEFAULT_DAILY_KEYS_IN_MEMORY } from "../limits/memory";
import { parseAmount } from "../common/money";
import { DEFAULT_PRICES, DEFAULT_RATE_LIMITS, FACEID_ACTIONS, type FaceIdAction, isFaceIdAction, type PriceTable } from "../faceid/tariff";
import { defaultPolicy, type PrecheckPolicy } from "../rules/policy";

export interface Config {
  /** embedded mode: the directory holding the secret and the SQLite database */
  dataDir: string;
  /**
   * SANYAO_JOURNAL_DIR: the journal of paid answers the store could not take (made at the first one), on this
   * instance's own disk in either mode; default `<data dir>/journal`
   */
  journalDir: string;
  /** scale-out mode: PostgreSQL for state (SANYAO_DATABASE_URL) … */
  databaseUrl: string | undefined;
  databaseSchema: string;
  /** … and Redis for the shared counters (SANYAO_REDIS_URL) */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** scale-out mode: the installation secret every instance shares (SANYAO_SECRET_FILE, or SANYAO_SECRET as hex) */
  secretFile: string | undefined;
  secretHex: string | undefined;
  host: string;
  port: number;
  /**
   * SANYAO_OPS_HOST/SANYAO_OPS_PORT: the operations listener (the operations API and /metrics, beside the probes);
   * unset: they are served on the public listener
   */
  ops: { host: string; port: number } | undefined;
  defaultLanguage: Language;
  /** budget of one verification source lookup; past it the answer is -11 */
  sourceTimeoutMs: number;
  policy: PrecheckPolicy;
  logLevel: string;
  /**
   * embedded mode: make the demo account, key and records at the first start (SANYAO_DEMO, `serve --no-demo`).
   * Made or declined once, an installation keeps that choice (app/demo.ts).
   */
  demo: boolean;
  /** what a new account starts with */
  accountDefaults: { rateLimit: number; rateLimits: Readonly<Record<string, number>>; dailyCap: number; balance: number };
  /** embedded mode: how many of the day's daily-cap counters stay in memory (the rest are read from SQLite) */
  dailyKeysInMemory: number;
  /** SQLite commit durability of the embedded store */
  sqliteSync: "normal" | "full";
  /** regions where the built-in KMS keeps keys */
  kmsRegions: ReadonlySet<string>;
  /** fen per charged answer, by VerifyMode */
  /** fen per charged answer, by action and variant (SANYAO_PRICES, SANYAO_PRICE_SIMPLE/DETAILED) */
  prices: PriceTable;
  /** what one client can hold of the server: body bytes, connections, time */
  transport: TransportLimits;
  /** SANYAO_CLOCK: the server's clock stands at this time (ms) — for tests of limits, caps and timestamps */
  fixedClockMs: number | undefined;
  /** SANYAO_CLOCK_OFFSET_S: the server's clock runs this far from the real one (ms; may be negative) */
  clockOffsetMs: number;
  /** SANYAO_ADMIN_TOKEN: the operator token of the operations API (else the data directory's admin-token file) */
  adminToken: string | undefined;
  /** SANYAO_READ_ONLY_TOKEN: the operations API's read-only token (else the data directory's admin-token-read-only file) */
  readOnlyToken: string | undefined;
  /**
   * encrypted fields that fail to open, per SecretId: past `limit` in a window (SANYAO_DECRYPT_FAILURE_LIMIT,
   * SANYAO_DECRYPT_FAILURE_WINDOW_S) the key's encrypted calls are refused until the window ends
   */
  decryptFailures: { limit: number; windowMs: number };
  /** gateway mode (on once `sanyao upstream set` stored a key): SANYAO_UPSTREAM_URL overrides the stored URL */
  upstream: { url: string | undefined; rateLimit: number; timeoutMs: number; cacheTtlMs: number };
}

export interface TransportLimits {
  /** request body bytes buffered across all requests in flight; past it a request is refused (ServiceUnavailable) */
  maxBodyBytesInFlight: number;
  /** open TCP connections; further ones are closed at once */
  maxConnections: number;
  /** time to receive a request's headers */
  headersTimeoutMs: number;
  /** time to receive a whole request, body included */
  requestTimeoutMs: number;
  /** how long an idle keep-alive connection stays open */
  keepAliveTimeoutMs: number;
}

export type ConfigOverrides = Partial<Pick<Config, "dataDir" | "host" | "port" | "databaseUrl" | "demo">> & {
  opsHost?: string;
  opsPort?: number;
};

export class ConfigError extends Error {}

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}.`);
  return n;
}

/**
 * The defaults, then PhoneVerification's two legacy variables, then SANYAO_PRICES:
 * `Action=amount` or `Action.detailed=amount`, comma-separated (e.g. `IdCardVerification=0.12,PhoneVerification.detailed=0.60`).
 */
function priceTable(env: NodeJS.ProcessEnv): PriceTable {
  const table: Record<FaceIdAction, { simple: number; detailed?: number }> = structuredClone({ ...DEFAULT_PRICES });
  const pv = table.PhoneVerification;
  if (env.SANYAO_PRICE_SIMPLE) pv.simple = amount("SANYAO_PRICE_SIMPLE", env.SANYAO_PRICE_SIMPLE, "0");
  if (env.SANYAO_PRICE_DETAILED) pv.detailed = amount("SANYAO_PRICE_DETAILED", env.SANYAO_PRICE_DETAILED, "0");
  for (const item of (env.SANYAO_PRICES ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z]+)(?:\.(simple|detailed))?=(.+)$/.exec(item);
    const action = m?.[1] ?? "";
    if (!m || !isFaceIdAction(action)) {
      throw new ConfigError(
        `SANYAO_PRICES: "${item}" is not ACTION=AMOUNT or ACTION.detailed=AMOUNT for a FaceID action (${FACEID_ACTIONS.join(", ")}).`,
      );
    }
    if (m[2] === "detailed" && action !== "PhoneVerification")
      throw new ConfigError("SANYAO_PRICES: only PhoneVerification has a detailed price.");
    table[action][m[2] === "detailed" ? "detailed" : "simple"] = amount("SANYAO_PRICES", m[3], "0");
  }
  return table;
}

/** Per-action limits of new accounts: DEFAULT_RATE_LIMITS, then SANYAO_RATE_LIMITS (`Action=N`, comma-separated). */
function rateLimitTable(env: NodeJS.ProcessEnv): Record<string, number> {
  const table: Record<string, number> = { ...DEFAULT_RATE_LIMITS };
  for (const item of (env.SANYAO_RATE_LIMITS ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z]+)=(\d{1,7})$/.exec(item);
    const action = m?.[1] ?? "";
    if (!m || !isFaceIdAction(action) || Number(m[2]) < 1) {
      throw new ConfigError(`SANYAO_RATE_LIMITS: "${item}" is not ACTION=N (N from 1) for a FaceID action.`);
    }
    table[action] = Number(m[2]);
  }
  return table;
}

function amount(name: string, raw: string | undefined, fallback: string, allowNegative = false): number {
  const fen = parseAmount(raw === undefined || raw === "" ? fallback : raw);
  if (fen === undefined || (!allowNegative && fen < 0)) throw new ConfigError(`${name} must be an amount such as 12.50.`);
  return fen;
}

export const DEFAULT_KMS_REGIONS = [
  "ap-guangzhou",
  "ap-shanghai",
  "ap-beijing",
  "ap-chengdu",
  "ap-chongqing",
  "ap-nanjing",
  "ap-hongkong",
  "ap-singapore",
  "ap-tokyo",
  "ap-seoul",
  "ap-bangkok",
  "ap-jakarta",
  "ap-mumbai",
  "eu-frankfurt",
  "na-siliconvalley",
  "na-ashburn",
  "sa-saopaulo",
];

function regions(raw: string | undefined): ReadonlySet<string> {
  if (raw === undefined || raw.trim() === "") return new Set(DEFAULT_KMS_REGIONS);
  const list = raw
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  if (list.some((r) => !REGION_NAME.test(r)))
    throw new ConfigError("SANYAO_KMS_REGIONS is a comma-separated list such as ap-guangzhou,ap-shanghai.");
  return new Set(list);
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined || raw === "") return fallback;
  const found = allowed.find((value) => value === raw);
  if (found === undefined) throw new ConfigError(`${name} must be one of: ${allowed.join(", ")}.`);
  return found;
}

function fixedClock(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError("SANYAO_CLOCK must be a time such as 2026-12-01T08:00:00Z or Unix milliseconds.");
  }
  return ms;
}

function transportLimits(env: NodeJS.ProcessEnv): TransportLimits {
  const limits: TransportLimits = {
    maxBodyBytesInFlight: int(
      "SANYAO_MAX_BODY_BYTES_IN_FLIGHT",
      env.SANYAO_MAX_BODY_BYTES_IN_FLIGHT,
      64 * 1024 * 1024,
      1024 * 1024,
      2 ** 40,
    ),
    maxConnections: int("SANYAO_MAX_CONNECTIONS", env.SANYAO_MAX_CONNECTIONS, 1024, 1, 1_000_000),
    headersTimeoutMs: int("SANYAO_HEADERS_TIMEOUT_MS", env.SANYAO_HEADERS_TIMEOUT_MS, 10_000, 100, 600_000),
    requestTimeoutMs: int("SANYAO_REQUEST_TIMEOUT_MS", env.SANYAO_REQUEST_TIMEOUT_MS, 30_000, 100, 3_600_000),
    keepAliveTimeoutMs: int("SANYAO_KEEP_ALIVE_TIMEOUT_MS", env.SANYAO_KEEP_ALIVE_TIMEOUT_MS, 5_000, 100, 600_000),
  };
  // node:http refuses a headers timeout longer than the whole request's.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError("SANYAO_HEADERS_TIMEOUT_MS must not exceed SANYAO_REQUEST_TIMEOUT_MS.");
  }
  return limits;
}

/** The operations listener, when a port is set: on 127.0.0.1 unless told, so it stays off the public network. */
function opsListener(overrides: ConfigOverrides, env: NodeJS.ProcessEnv, host: string, port: number): Config["ops"] {
  const opsHost = overrides.opsHost ?? (env.SANYAO_OPS_HOST || undefined);
  const opsPort = overrides.opsPort ?? (env.SANYAO_OPS_PORT ? int("SANYAO_OPS_PORT", env.SANYAO_OPS_PORT, 0, 0, 65535) : undefined);
  if (opsPort === undefined) {
    if (opsHost !== undefined) throw new ConfigError("SANYAO_OPS_HOST goes with SANYAO_OPS_PORT (the operations listener's port).");
    return undefined;
  }
  const ops = { host: opsHost ?? "127.0.0.1", port: opsPort };
  if (ops.port !== 0 && ops.port === port && (ops.host === host || ops.host === "0.0.0.0" || host === "0.0.0.0")) {
    throw new ConfigError("SANYAO_OPS_PORT must differ from SANYAO_PORT: the operations listener is a listener of its own.");
  }
  return ops;
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const port = overrides.port ?? int("SANYAO_PORT", env.SANYAO_PORT, 8080, 0, 65535);
  const host = overrides.host ?? (env.SANYAO_HOST || "127.0.0.1");
  const dataDir = overrides.dataDir ?? (env.SANYAO_DATA_DIR || "./data");
  return {
    dataDir,
    journalDir: env.SANYAO_JOURNAL_DIR || path.join(dataDir, "journal"),
    databaseUrl: overrides.databaseUrl ?? (env.SANYAO_DATABASE_URL || undefined),
    databaseSchema: env.SANYAO_DATABASE_SCHEMA || "sanyao",
    redisUrl: env.SANYAO_REDIS_URL || undefined,
    redisPrefix: env.SANYAO_REDIS_PREFIX || "sanyao:",
    secretFile: env.SANYAO_SECRET_FILE || undefined,
    secretHex: env.SANYAO_SECRET || undefined,
    host,
    port,
    ops: opsListener(overrides, env, host, port),
    defaultLanguage: oneOf("SANYAO_LANGUAGE", env.SANYAO_LANGUAGE, ["en-US", "zh-CN"], "en-US"),
    sourceTimeoutMs: int("SANYAO_SOURCE_TIMEOUT_MS", env.SANYAO_SOURCE_TIMEOUT_MS, 3000, 1, 60_000),
    policy: {
      ...defaultPolicy,
      dataCards: oneOf("SANYAO_DATA_CARDS", env.SANYAO_DATA_CARDS, ["valid", "unsupported"], defaultPolicy.dataCards),
      broadnet: oneOf("SANYAO_BROADNET", env.SANYAO_BROADNET, ["valid", "unsupported"], defaultPolicy.broadnet),
      foreignPermanentResident: oneOf("SANYAO_FOREIGN_PR", env.SANYAO_FOREIGN_PR, ["true", "false"], "true") === "true",
    },
    logLevel: oneOf("SANYAO_LOG_LEVEL", env.SANYAO_LOG_LEVEL, ["debug", "info", "warn", "error", "silent"], "info"),
    demo: overrides.demo ?? oneOf("SANYAO_DEMO", env.SANYAO_DEMO, ["true", "false"], "true") === "true",
    accountDefaults: {
      rateLimit: int("SANYAO_RATE_LIMIT", env.SANYAO_RATE_LIMIT, 20, 1, 1_000_000),
      rateLimits: rateLimitTable(env),
      dailyCap: int("SANYAO_DAILY_CAP", env.SANYAO_DAILY_CAP, 20, 0, 1_000_000),
      balance: amount("SANYAO_INITIAL_BALANCE", env.SANYAO_INITIAL_BALANCE, "1000.00", true),
    },
    dailyKeysInMemory: int("SANYAO_DAILY_KEYS_IN_MEMORY", env.SANYAO_DAILY_KEYS_IN_MEMORY, DEFAULT_DAILY_KEYS_IN_MEMORY, 10, 100_000_000),
    kmsRegions: regions(env.SANYAO_KMS_REGIONS),
    sqliteSync: oneOf("SANYAO_SQLITE_SYNC", env.SANYAO_SQLITE_SYNC, ["normal", "full"], "normal"),
    prices: priceTable(env),
    transport: transportLimits(env),
    fixedClockMs: fixedClock(env.SANYAO_CLOCK),
    // ten years either way: enough for any day boundary or signature expiry a caller wants to see
    clockOffsetMs: int("SANYAO_CLOCK_OFFSET_S", env.SANYAO_CLOCK_OFFSET_S, 0, -315_360_000, 315_360_000) * 1000,
    adminToken: adminToken("SANYAO_ADMIN_TOKEN", env.SANYAO_ADMIN_TOKEN),
    readOnlyToken: adminToken("SANYAO_READ_ONLY_TOKEN", env.SANYAO_READ_ONLY_TOKEN),
    decryptFailures: {
      limit: int("SANYAO_DECRYPT_FAILURE_LIMIT", env.SANYAO_DECRYPT_FAILURE_LIMIT, 20, 1, 1_000_000),
      windowMs: int("SANYAO_DECRYPT_FAILURE_WINDOW_S", env.SANYAO_DECRYPT_FAILURE_WINDOW_S, 600, 1, 86_400) * 1000,
    },
    upstream: {
      url: upstreamUrl(env.SANYAO_UPSTREAM_URL),
      rateLimit: int("SANYAO_UPSTREAM_RATE_LIMIT", env.SANYAO_UPSTREAM_RATE_LIMIT, 20, 1, 1_000_000),
      timeoutMs: int("SANYAO_UPSTREAM_TIMEOUT_MS", env.SANYAO_UPSTREAM_TIMEOUT_MS, 5000, 100, 120_000),
      // seconds; 0 (the default) keeps nothing
      cacheTtlMs: int("SANYAO_CACHE_TTL", env.SANYAO_CACHE_TTL, 0, 0, 30 * 86_400) * 1000,
    },
  };
}

function upstreamUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  try {
    return checkedUrl(raw);
  } catch (err) {
    throw new ConfigError(`SANYAO_UPSTREAM_URL: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function adminToken(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^[\x21-\x7e]{16,256}$/.test(raw)) throw new ConfigError(`${name} is 16 to 256 printable characters without spaces.`);
  return raw;
}
