/**
 * One typed configuration from the environment (SANYAO_*) and command-line overrides, checked at start-up. Every
 * setting is read through a SettingReader, which keeps where each value came from (`sanyao config` prints them).
 */
import os from "node:os";
import path from "node:path";
import { packageRoot } from "../common/paths";
import type { Language } from "../api3/errors";
import { REGION_NAME } from "../api3/router";
import { checkedUrl } from "../gateway/upstream-settings";
import { DEFAULT_DAILY_KEYS_IN_MEMORY } from "../limits/memory";
import { formatAmount, parseAmount } from "../common/money";
import { CLOUDAUTH_ACTIONS, CLOUDAUTH_PRICES, CLOUDAUTH_RATE_LIMITS, isCloudauthAction } from "../cloudauth/tariff";
import { DEFAULT_PRICES, DEFAULT_RATE_LIMITS, FACEID_ACTIONS, isFaceIdAction, type Prices } from "../faceid/tariff";
import { defaultPolicy, type PrecheckPolicy } from "../rules/policy";
import { SQLITE_MAP_MOST_BYTES } from "../store/sqlite/limits";
import { type Setting, SettingReader, secret, withoutPassword } from "./settings";

export interface Config {
  /** embedded mode: the directory holding the secret and the SQLite database */
  dataDir: string;
  /**
   * SANYAO_JOURNAL_DIR: the journal of paid answers the store could not take, and of a gateway's calls with the
   * upstream (made at the first one), on this instance's own disk in either mode; default `<data dir>/journal`
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
  /**
   * SANYAO_RECORDS_MAP_MB: how much of records.db the request path's connection maps into memory (SQLite maps at most
   * 2047 MiB); pages past it are walked into each serving process's own cache at start (store/sqlite/records-cache.ts)
   */
  recordsMapMb: number;
  /**
   * SANYAO_RECORDS_CACHE_MB: the most each serving process caches of records.db's pages past the map (unset: a quarter
   * of the memory available, divided among the workers); 0 keeps SQLite's 64 MiB and turns the walk off
   */
  recordsCacheMb: number | undefined;
  /** regions where the built-in KMS keeps keys */
  kmsRegions: ReadonlySet<string>;
  /** fen per charged answer, by action (FaceID's and Cloudauth's) and variant (SANYAO_PRICES, SANYAO_PRICE_SIMPLE/DETAILED) */
  prices: Prices;
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
  /** SANYAO_CONSOLE_DIR: the web console's built files (default: the package's dist/console, `npm run build:console`) */
  consoleDir: string;
  /**
   * encrypted fields that fail to open, per SecretId: past `limit` in a window (SANYAO_DECRYPT_FAILURE_LIMIT,
   * SANYAO_DECRYPT_FAILURE_WINDOW_S) the key's encrypted calls are refused until the window ends
   */
  decryptFailures: { limit: number; windowMs: number };
  /** gateway mode (on once `sanyao upstream set` stored a key): SANYAO_UPSTREAM_URL overrides the stored URL */
  upstream: { url: string | undefined; rateLimit: number; timeoutMs: number; cacheTtlMs: number };
  /** SANYAO_SEED: a seed file `serve` applies at every start (seed/) */
  seed: string | undefined;
  /** SANYAO_WORKERS: server processes of `serve` (0: one per core) */
  workers: number;
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

export type ConfigOverrides = Partial<Pick<Config, "dataDir" | "host" | "port" | "databaseUrl" | "demo" | "seed" | "workers">> & {
  opsHost?: string;
  opsPort?: number;
};

export class ConfigError extends Error {}

/** The server processes `serve` runs: SANYAO_WORKERS, where 0 means one per core. */
export function servingProcesses(config: Pick<Config, "workers">): number {
  return config.workers === 0 ? os.availableParallelism() : config.workers;
}

/** the most of records.db SQLite maps, in whole MiB (2047) */
const RECORDS_MAP_MB_MOST = Math.floor(SQLITE_MAP_MOST_BYTES / 2 ** 20);

/** A whole number from `min` to `max`, or the fallback when unset. */
function int(name: string, fallback: number, min: number, max: number) {
  return (raw: string | undefined): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

function amount(name: string, raw: string, allowNegative = false): number {
  const fen = parseAmount(raw);
  if (fen === undefined || (!allowNegative && fen < 0)) throw new ConfigError(`${name} must be an amount such as 12.50.`);
  return fen;
}

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T) {
  return (raw: string | undefined): T => {
    if (raw === undefined) return fallback;
    const found = allowed.find((value) => value === raw);
    if (found === undefined) throw new ConfigError(`${name} must be one of: ${allowed.join(", ")}.`);
    return found;
  };
}

const text = (fallback: string) => (raw: string | undefined) => raw ?? fallback;
const optional = (raw: string | undefined) => raw;

/** A price table as one line: `Action=amount` and `PhoneVerification.detailed=amount`, comma-separated. */
function showPrices(table: Prices): string {
  return Object.entries(table)
    .flatMap(([action, p]: [string, { simple: number; detailed?: number }]) => [
      `${action}=${formatAmount(p.simple)}`,
      ...(p.detailed === undefined ? [] : [`${action}.detailed=${formatAmount(p.detailed)}`]),
    ])
    .join(",");
}

/** Every action an operator may price or limit: FaceID's and Cloudauth's. */
const PRICED_ACTIONS: readonly string[] = [...FACEID_ACTIONS, ...CLOUDAUTH_ACTIONS];
const isPricedAction = (name: string): boolean => isFaceIdAction(name) || isCloudauthAction(name);

/**
 * The defaults (FaceID's and Cloudauth's), then PhoneVerification's two legacy variables, then SANYAO_PRICES:
 * `Action=amount` or `Action.detailed=amount`, comma-separated (e.g. `IdCardVerification=0.12,Id2MetaVerify=0.12`).
 */
function priceTable(r: SettingReader): Prices {
  const table: Record<string, { simple: number; detailed?: number }> = structuredClone({ ...DEFAULT_PRICES, ...CLOUDAUTH_PRICES });
  const pv = { ...DEFAULT_PRICES.PhoneVerification };
  table.PhoneVerification = pv;
  const shownFen = (fen: number | undefined) => (fen === undefined ? null : formatAmount(fen));
  pv.simple = r.read("SANYAO_PRICE_SIMPLE", (raw) => (raw === undefined ? pv.simple : amount("SANYAO_PRICE_SIMPLE", raw)), {
    show: shownFen,
  });
  pv.detailed = r.read("SANYAO_PRICE_DETAILED", (raw) => (raw === undefined ? pv.detailed : amount("SANYAO_PRICE_DETAILED", raw)), {
    show: shownFen,
  });
  return r.read(
    "SANYAO_PRICES",
    (raw) => {
      for (const item of (raw ?? "")
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)) {
        const m = /^([A-Za-z][A-Za-z0-9]*)(?:\.(simple|detailed))?=(.+)$/.exec(item);
        const action = m?.[1] ?? "";
        const entry = table[action];
        if (!m || !isPricedAction(action) || !entry) {
          throw new ConfigError(
            `SANYAO_PRICES: "${item}" is not ACTION=AMOUNT or ACTION.detailed=AMOUNT for an action served (${PRICED_ACTIONS.join(", ")}).`,
          );
        }
        if (m[2] === "detailed" && action !== "PhoneVerification")
          throw new ConfigError("SANYAO_PRICES: only PhoneVerification has a detailed price.");
        entry[m[2] === "detailed" ? "detailed" : "simple"] = amount("SANYAO_PRICES", m[3] ?? "");
      }
      return table;
    },
    { show: showPrices },
  );
}

/** Per-action limits of new accounts: DEFAULT_RATE_LIMITS, then SANYAO_RATE_LIMITS (`Action=N`, comma-separated). */
function rateLimitTable(raw: string | undefined): Record<string, number> {
  const table: Record<string, number> = { ...DEFAULT_RATE_LIMITS, ...CLOUDAUTH_RATE_LIMITS };
  for (const item of (raw ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=(\d{1,7})$/.exec(item);
    const action = m?.[1] ?? "";
    if (!m || !isPricedAction(action) || Number(m[2]) < 1) {
      throw new ConfigError(
        `SANYAO_RATE_LIMITS: "${item}" is not ACTION=N (N from 1) for an action served (${PRICED_ACTIONS.join(", ")}).`,
      );
    }
    table[action] = Number(m[2]);
  }
  return table;
}

const showTable = (table: Readonly<Record<string, number>>) =>
  Object.entries(table)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

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

function fixedClock(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError("SANYAO_CLOCK must be a time such as 2026-12-01T08:00:00Z or Unix milliseconds.");
  }
  return ms;
}

function transportLimits(r: SettingReader): TransportLimits {
  const limits: TransportLimits = {
    maxBodyBytesInFlight: r.read(
      "SANYAO_MAX_BODY_BYTES_IN_FLIGHT",
      int("SANYAO_MAX_BODY_BYTES_IN_FLIGHT", 64 * 1024 * 1024, 1024 * 1024, 2 ** 40),
    ),
    maxConnections: r.read("SANYAO_MAX_CONNECTIONS", int("SANYAO_MAX_CONNECTIONS", 1024, 1, 1_000_000)),
    headersTimeoutMs: r.read("SANYAO_HEADERS_TIMEOUT_MS", int("SANYAO_HEADERS_TIMEOUT_MS", 10_000, 100, 600_000)),
    requestTimeoutMs: r.read("SANYAO_REQUEST_TIMEOUT_MS", int("SANYAO_REQUEST_TIMEOUT_MS", 30_000, 100, 3_600_000)),
    keepAliveTimeoutMs: r.read("SANYAO_KEEP_ALIVE_TIMEOUT_MS", int("SANYAO_KEEP_ALIVE_TIMEOUT_MS", 5_000, 100, 600_000)),
  };
  // node:http refuses a headers timeout longer than the whole request's.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError("SANYAO_HEADERS_TIMEOUT_MS must not exceed SANYAO_REQUEST_TIMEOUT_MS.");
  }
  return limits;
}

/** The operations listener, when a port is set: on 127.0.0.1 unless told, so it stays off the public network. */
function opsListener(overrides: ConfigOverrides, r: SettingReader, host: string, port: number): Config["ops"] {
  const opsHost = r.read("SANYAO_OPS_HOST", optional, { flag: "--ops-host", given: overrides.opsHost });
  const opsPort = r.read("SANYAO_OPS_PORT", (raw) => (raw === undefined ? undefined : int("SANYAO_OPS_PORT", 0, 0, 65535)(raw)), {
    flag: "--ops-port",
    given: overrides.opsPort,
  });
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
  return loadConfigWithSources(overrides, env).config;
}

/** The configuration, and each setting as it was read: its value and where it came from (default, environment, flag). */
export function loadConfigWithSources(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): { config: Config; settings: Setting[] } {
  const r = new SettingReader(env);
  const dataDir = r.read("SANYAO_DATA_DIR", text("./data"), { flag: "--data", given: overrides.dataDir });
  const journalDir = r.read("SANYAO_JOURNAL_DIR", text(path.join(dataDir, "journal")));
  const databaseUrl = r.read("SANYAO_DATABASE_URL", optional, {
    flag: "--database-url",
    given: overrides.databaseUrl,
    show: withoutPassword,
  });
  const databaseSchema = r.read("SANYAO_DATABASE_SCHEMA", text("sanyao"));
  const redisUrl = r.read("SANYAO_REDIS_URL", optional, { show: withoutPassword });
  const redisPrefix = r.read("SANYAO_REDIS_PREFIX", text("sanyao:"));
  const secretFile = r.read("SANYAO_SECRET_FILE", optional);
  const secretHex = r.read("SANYAO_SECRET", optional, { show: secret });
  const port = r.read("SANYAO_PORT", int("SANYAO_PORT", 8080, 0, 65535), { flag: "--port", given: overrides.port });
  const host = r.read("SANYAO_HOST", text("127.0.0.1"), { flag: "--host", given: overrides.host });
  const ops = opsListener(overrides, r, host, port);
  const workers = r.read("SANYAO_WORKERS", int("SANYAO_WORKERS", 1, 0, 1_000_000), { flag: "--workers", given: overrides.workers });
  const seed = r.read("SANYAO_SEED", optional, { flag: "--seed", given: overrides.seed });
  const config: Config = {
    dataDir,
    journalDir,
    databaseUrl,
    databaseSchema,
    redisUrl,
    redisPrefix,
    secretFile,
    secretHex,
    host,
    port,
    ops,
    workers,
    seed,
    demo: r.read("SANYAO_DEMO", (raw) => oneOf("SANYAO_DEMO", ["true", "false"], "true")(raw) === "true", {
      flag: "--no-demo",
      given: overrides.demo,
    }),
    defaultLanguage: r.read("SANYAO_LANGUAGE", oneOf("SANYAO_LANGUAGE", ["en-US", "zh-CN"], "en-US")),
    sourceTimeoutMs: r.read("SANYAO_SOURCE_TIMEOUT_MS", int("SANYAO_SOURCE_TIMEOUT_MS", 3000, 1, 60_000)),
    policy: {
      ...defaultPolicy,
      dataCards: r.read("SANYAO_DATA_CARDS", oneOf("SANYAO_DATA_CARDS", ["valid", "unsupported"], defaultPolicy.dataCards)),
      broadnet: r.read("SANYAO_BROADNET", oneOf("SANYAO_BROADNET", ["valid", "unsupported"], defaultPolicy.broadnet)),
      foreignPermanentResident: r.read("SANYAO_FOREIGN_PR", (raw) => oneOf("SANYAO_FOREIGN_PR", ["true", "false"], "true")(raw) === "true"),
    },
    logLevel: r.read("SANYAO_LOG_LEVEL", oneOf("SANYAO_LOG_LEVEL", ["debug", "info", "warn", "error", "silent"], "info")),
    accountDefaults: {
      rateLimit: r.read("SANYAO_RATE_LIMIT", int("SANYAO_RATE_LIMIT", 20, 1, 1_000_000)),
      rateLimits: r.read("SANYAO_RATE_LIMITS", rateLimitTable, { show: showTable }),
      dailyCap: r.read("SANYAO_DAILY_CAP", int("SANYAO_DAILY_CAP", 20, 0, 1_000_000)),
      balance: r.read("SANYAO_INITIAL_BALANCE", (raw) => amount("SANYAO_INITIAL_BALANCE", raw ?? "1000.00", true), { show: formatAmount }),
    },
    dailyKeysInMemory: r.read(
      "SANYAO_DAILY_KEYS_IN_MEMORY",
      int("SANYAO_DAILY_KEYS_IN_MEMORY", DEFAULT_DAILY_KEYS_IN_MEMORY, 10, 100_000_000),
    ),
    kmsRegions: r.read("SANYAO_KMS_REGIONS", regions, { show: (set) => [...set].join(",") }),
    sqliteSync: r.read("SANYAO_SQLITE_SYNC", oneOf("SANYAO_SQLITE_SYNC", ["normal", "full"], "normal")),
    recordsMapMb: r.read("SANYAO_RECORDS_MAP_MB", int("SANYAO_RECORDS_MAP_MB", RECORDS_MAP_MB_MOST, 0, RECORDS_MAP_MB_MOST)),
    recordsCacheMb: r.read(
      "SANYAO_RECORDS_CACHE_MB",
      (raw) => (raw === undefined ? undefined : int("SANYAO_RECORDS_CACHE_MB", 0, 0, 1_048_576)(raw)),
      { show: (mb) => (mb === undefined ? "a quarter of the memory available, divided among the workers" : String(mb)) },
    ),
    prices: priceTable(r),
    transport: transportLimits(r),
    fixedClockMs: r.read("SANYAO_CLOCK", fixedClock, { show: (ms) => (ms === undefined ? null : new Date(ms).toISOString()) }),
    // ten years either way: enough for any day boundary or signature expiry a caller wants to see
    clockOffsetMs: r.read("SANYAO_CLOCK_OFFSET_S", int("SANYAO_CLOCK_OFFSET_S", 0, -315_360_000, 315_360_000)) * 1000,
    adminToken: r.read("SANYAO_ADMIN_TOKEN", (raw) => adminToken("SANYAO_ADMIN_TOKEN", raw), { show: secret }),
    readOnlyToken: r.read("SANYAO_READ_ONLY_TOKEN", (raw) => adminToken("SANYAO_READ_ONLY_TOKEN", raw), { show: secret }),
    consoleDir: r.read("SANYAO_CONSOLE_DIR", text(path.join(packageRoot, "dist", "console"))),
    decryptFailures: {
      limit: r.read("SANYAO_DECRYPT_FAILURE_LIMIT", int("SANYAO_DECRYPT_FAILURE_LIMIT", 20, 1, 1_000_000)),
      windowMs: r.read("SANYAO_DECRYPT_FAILURE_WINDOW_S", int("SANYAO_DECRYPT_FAILURE_WINDOW_S", 600, 1, 86_400)) * 1000,
    },
    upstream: {
      url: r.read("SANYAO_UPSTREAM_URL", upstreamUrl),
      rateLimit: r.read("SANYAO_UPSTREAM_RATE_LIMIT", int("SANYAO_UPSTREAM_RATE_LIMIT", 20, 1, 1_000_000)),
      timeoutMs: r.read("SANYAO_UPSTREAM_TIMEOUT_MS", int("SANYAO_UPSTREAM_TIMEOUT_MS", 5000, 100, 120_000)),
      // seconds; 0 (the default) keeps nothing
      cacheTtlMs: r.read("SANYAO_CACHE_TTL", int("SANYAO_CACHE_TTL", 0, 0, 30 * 86_400)) * 1000,
    },
  };
  return { config, settings: r.settings };
}

function upstreamUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return checkedUrl(raw);
  } catch (err) {
    throw new ConfigError(`SANYAO_UPSTREAM_URL: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function adminToken(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[\x21-\x7e]{16,256}$/.test(raw)) throw new ConfigError(`${name} is 16 to 256 printable characters without spaces.`);
  return raw;
}
