/**
 * Reading a seed file (JSON): the accounts, keys, records, scenarios and upstream it names, each checked here, before
 * the installation is opened — everything that can be checked without the store. What the store must be asked (a
 * SecretId taken by another account) is checked by apply.ts before it writes anything.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Keyring } from "../common/keyring";
import { isJsonObject } from "../common/stored-json";
import { FACEID_ACTIONS, isFaceIdAction } from "../faceid/tariff";
import { CLOUDAUTH_ACTIONS, isCloudauthAction } from "../cloudauth/tariff";
import { checkUpstream, TENCENT_FACEID_URL, UpstreamInputError } from "../gateway/upstream-settings";
import { ACCOUNT_BOUNDS } from "../admin/accounts";
import type { Config } from "../app/config";
import type { PrecheckPolicy } from "../rules/policy";
import { chinaDate } from "../rules/precheck";
import { loadRuleTables, type RuleTables } from "../rules/tables";
import { HeldFile } from "../sources/held-file";
import { checkRecord, readRecordsFile } from "../sources/import";
import { isPlausibleSecretId } from "../store/ids";
import type { AccountPatch, NewAccountDefaults } from "../store/model";
import { parseScenario, type ScenarioInput, ScenarioInputError } from "../testkit/scenario";
import { Entry, Problems, SeedError } from "./checks";

export interface SeedAccount {
  at: string;
  name: string;
  /** what a new account starts with, where the seed says (else the configured defaults) */
  start: Partial<NewAccountDefaults>;
  /** states and limits, set at every apply */
  patch: AccountPatch;
}

export interface SeedKey {
  at: string;
  /** the seed's handle of a generated key (kept in the installation's meta, so applying again finds it) */
  name: string | undefined;
  /** an account's name: one of the seed's, or one the installation has */
  account: string;
  /** given credentials (a key CI knows in advance); absent: generated once and printed once */
  given: { secretId: string; secretKey: string } | undefined;
  test: boolean;
  enabled: boolean | undefined;
}

export interface SeedScenario {
  at: string;
  account: string;
  input: Omit<ScenarioInput, "account">;
}

export interface SeedUpstream {
  url: string;
  secretId: string;
  /** read from the environment variable or file the seed names */
  secretKey: string;
  publicKeys: { rsa?: string; sm2?: string };
}

export interface Seed {
  /** the file as given */
  file: string;
  accounts: SeedAccount[];
  keys: SeedKey[];
  /** inline records, as an import reads rows */
  records: Array<Record<string, string>>;
  /** record files (CSV or NDJSON), resolved against the seed file's directory */
  recordFiles: string[];
  scenarios: SeedScenario[];
  upstream: SeedUpstream | undefined;
  /** how long reading and checking the file took (its record files included) */
  checkMs: number;
}

export interface SeedRules {
  tables: RuleTables;
  policy: PrecheckPolicy;
  /** China-time day, YYYYMMDD */
  todayChina: string;
}

/** The rules records are checked by, as `records import` applies them. */
export function seedRules(config: Pick<Config, "policy">): SeedRules {
  return { tables: loadRuleTables(), policy: config.policy, todayChina: chinaDate(Date.now()) };
}

const TOP = ["version", "accounts", "keys", "records", "scenarios", "upstream"];
const ACCOUNT = [
  "name",
  "activated",
  "identityVerified",
  "billing",
  "rateLimit",
  "rateLimits",
  "dailyCap",
  "balance",
  "monthlyBudget",
  "kmsAuthorized",
];
const KEY = ["name", "account", "secretId", "secretKey", "test", "enabled"];
const RECORD = ["phone", "name", "idcard", "isp", "status", "line_status", "network_since"];
const SCENARIO = [
  "account",
  "secretId",
  "action",
  "phone",
  "idcard",
  "result",
  "error",
  "delayMs",
  "reset",
  "hang",
  "clockOffsetS",
  "times",
  "probability",
  "until",
  "seed",
];
const UPSTREAM = ["url", "secretId", "secretKey", "secretKeyEnv", "secretKeyFile", "rsaPublicKey", "sm2PublicKey"];
const MAX_LIMIT = ACCOUNT_BOUNDS.limit;

/** Reads and checks the seed file; a SeedError lists every problem found. */
export async function readSeed(file: string, rules: SeedRules, env: NodeJS.ProcessEnv = process.env): Promise<Seed> {
  const started = process.hrtime.bigint();
  const problems = new Problems();
  const top = parseFile(file);
  const root = new Entry(top, "", problems).only(TOP);
  if (root.has("version") && root.fields.version !== 1) problems.add("version", "must be 1 (the only seed format so far)");
  const dir = path.dirname(path.resolve(file));
  const accounts = root.objects("accounts").flatMap((e) => account(e) ?? []);
  unique(
    accounts.map((a) => [a.at, a.name]),
    "name",
    "another account of the seed has this name",
    problems,
  );
  const keys = root.objects("keys").flatMap((e) => key(e) ?? []);
  unique(
    keys.flatMap((k) => (k.given ? [[k.at, k.given.secretId]] : [])),
    "secretId",
    "another key of the seed has this SecretId",
    problems,
  );
  unique(
    keys.flatMap((k) => (k.name ? [[k.at, k.name]] : [])),
    "name",
    "another key of the seed has this name",
    problems,
  );
  const records: Array<Record<string, string>> = [];
  const recordFiles: Array<{ at: string; file: string }> = [];
  for (const e of root.objects("records")) {
    if (e.has("file")) {
      e.only(["file"]);
      const name = e.string("file", { required: true });
      if (name !== undefined) recordFiles.push({ at: e.at, file: path.resolve(dir, name) });
    } else {
      const row = record(e, rules);
      if (row) records.push(row);
    }
  }
  for (const f of recordFiles) await checkRecordFile(f.at, f.file, rules, problems);
  const scenarios = root.objects("scenarios").flatMap((e) => scenario(e) ?? []);
  const upstreamEntry = root.object("upstream");
  const up = upstreamEntry && upstream(upstreamEntry, dir, env);
  problems.throwIfAny(file);
  const checkMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
  return { file, accounts, keys, records, recordFiles: recordFiles.map((f) => f.file), scenarios, upstream: up, checkMs };
}

function parseFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SeedError(
      `${file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot be read (${code})`}.`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    // JSON.parse's message quotes the text around the fault, which may be a person's name or number: only where
    throw new SeedError(`${file}: not valid JSON${jsonFaultAt(text, err)}.`);
  }
  if (!isJsonObject(value)) throw new SeedError(`${file}: the seed is one JSON object ({"accounts": […], …}).`);
  return value;
}

/** " at line L, column C" from JSON.parse's "position N", or nothing when it names none. */
function jsonFaultAt(text: string, err: unknown): string {
  const position = /position (\d+)/.exec(err instanceof Error ? err.message : "")?.[1];
  if (position === undefined) return "";
  const before = text.slice(0, Number(position)).split("\n");
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function unique(items: string[][], field: string, message: string, problems: Problems): void {
  const seen = new Set<string>();
  for (const [at, value] of items) {
    if (at === undefined || value === undefined) continue;
    if (seen.has(value)) problems.add(`${at}.${field}`, message);
    seen.add(value);
  }
}

function account(e: Entry): SeedAccount | undefined {
  e.only(ACCOUNT);
  const name = e.string("name", { required: true })?.trim();
  if (name !== undefined && [...name].length > ACCOUNT_BOUNDS.nameLength)
    e.problems.add(e.path("name"), `has at most ${ACCOUNT_BOUNDS.nameLength} characters`);
  const rateLimit = e.wholeNumber("rateLimit", 1, MAX_LIMIT);
  const rateLimitsEntry = e.object("rateLimits");
  let rateLimits: Record<string, number> | undefined;
  if (rateLimitsEntry) {
    rateLimits = {};
    for (const action of Object.keys(rateLimitsEntry.fields)) {
      if (!isFaceIdAction(action) && !isCloudauthAction(action)) {
        e.problems.add(
          rateLimitsEntry.unknownPath(action),
          `is not a FaceID or Cloudauth action (${[...FACEID_ACTIONS, ...CLOUDAUTH_ACTIONS].join(", ")})`,
        );
        continue;
      }
      const n = rateLimitsEntry.wholeNumber(action, 1, MAX_LIMIT);
      if (n !== undefined) rateLimits[action] = n;
    }
  }
  const dailyCap = e.wholeNumber("dailyCap", 0, MAX_LIMIT);
  const balance = e.amount("balance", { negative: true });
  const patch: AccountPatch = {
    activated: e.boolean("activated"),
    identityVerified: e.boolean("identityVerified"),
    billing: e.oneOf("billing", ["ok", "abnormal"] as const),
    rateLimit,
    rateLimits,
    dailyCap,
    kmsAuthorized: e.boolean("kmsAuthorized"),
    monthlyBudget: e.amount("monthlyBudget", { max: ACCOUNT_BOUNDS.amount }),
  };
  if (name === undefined) return undefined;
  return {
    at: e.at,
    name,
    start: {
      ...(rateLimit !== undefined && { rateLimit }),
      ...(rateLimits !== undefined && { rateLimits }),
      ...(dailyCap !== undefined && { dailyCap }),
      ...(balance !== undefined && { balance }),
    },
    patch,
  };
}

function key(e: Entry): SeedKey | undefined {
  e.only(KEY);
  const name = e.string("name", { required: e.has("name") });
  const account = e.string("account", { required: true });
  const secretId = e.string("secretId", { required: e.has("secretId") });
  const secretKey = e.string("secretKey", { required: e.has("secretKey") });
  const test = e.boolean("test") ?? false;
  const enabled = e.boolean("enabled");
  if (secretId !== undefined && !isPlausibleSecretId(secretId))
    e.problems.add(e.path("secretId"), "must be 8 to 128 letters, digits, '-' or '_'");
  if (secretKey !== undefined && secretKey.length < 16) e.problems.add(e.path("secretKey"), "must have at least 16 characters");
  if (e.has("secretId") !== e.has("secretKey")) {
    e.problems.add(
      e.path(e.has("secretId") ? "secretKey" : "secretId"),
      "is missing: give secretId and secretKey, or neither for a generated key",
    );
  }
  if (!e.has("secretId") && !e.has("name")) {
    e.problems.add(e.path("name"), "is required for a generated key (no secretId): it is how applying again finds the key");
  }
  if (account === undefined) return undefined;
  return { at: e.at, name, account, given: secretId && secretKey ? { secretId, secretKey } : undefined, test, enabled };
}

function record(e: Entry, rules: SeedRules): Record<string, string> | undefined {
  e.only(RECORD);
  const row: Record<string, string> = {};
  for (const field of RECORD) {
    const value = e.string(field, { required: ["phone", "name", "idcard"].includes(field), numberAsText: true });
    if (value !== undefined) row[field] = value;
  }
  if (!row.phone || !row.name || !row.idcard) return undefined;
  const checked = checkRecord(row, rules);
  if (!checked.ok) {
    e.problems.add(e.at, checked.reason);
    return undefined;
  }
  return row;
}

/** Every row of a records file through the import's rules; a file an import would refuse, or a row it would reject, is a problem. */
async function checkRecordFile(at: string, file: string, rules: SeedRules, problems: Problems): Promise<void> {
  const name = path.basename(file);
  let stats: fs.Stats;
  try {
    stats = fs.statSync(file);
  } catch {
    problems.add(`${at}.file`, `no such file: ${file}`);
    return;
  }
  if (!stats.isFile()) {
    problems.add(`${at}.file`, `${file} is not a regular file`);
    return;
  }
  let held: HeldFile | undefined;
  try {
    held = HeldFile.open(file);
    for await (const row of await readRecordsFile(held)) {
      const verdict = "error" in row ? { ok: false as const, reason: row.error } : checkRecord(row.fields, rules);
      if (!verdict.ok) problems.add(`${at} (${name} line ${row.line})`, verdict.reason);
    }
  } catch (err) {
    // a file the import refuses whole: an unclosed quote (CsvFileError), a header without the required columns
    if (!(err instanceof Error)) throw err;
    problems.add(`${at} (${name})`, err.message);
  } finally {
    await held?.close();
  }
}

function scenario(e: Entry): SeedScenario | undefined {
  e.only(SCENARIO);
  const account = e.string("account", { required: true });
  const input: Omit<ScenarioInput, "account"> = {
    secretId: e.string("secretId"),
    action: e.string("action"),
    phone: e.string("phone", { numberAsText: true }),
    idCard: e.string("idcard", { numberAsText: true }),
    result: e.fields.result,
    error: e.string("error"),
    delayMs: e.fields.delayMs,
    reset: e.boolean("reset"),
    hang: e.boolean("hang"),
    clockOffsetS: e.fields.clockOffsetS,
    times: e.fields.times,
    probability: e.fields.probability,
    until: e.string("until"),
    seed: e.fields.seed,
  };
  if (account === undefined) return undefined;
  try {
    // the same checks `scenarios add` makes; the keyring only hashes a phone or ID it is given, then is dropped
    parseScenario({ ...input, account }, new Keyring(randomBytes(32)));
  } catch (err) {
    if (!(err instanceof ScenarioInputError)) throw err;
    e.problems.add(e.at, err.message);
    return undefined;
  }
  return { at: e.at, account, input };
}

function upstream(e: Entry, dir: string, env: NodeJS.ProcessEnv): SeedUpstream | undefined {
  e.only(UPSTREAM);
  if (e.has("secretKey")) {
    e.problems.add(e.path("secretKey"), "a seed never holds the company SecretKey: give secretKeyEnv (a variable's name) or secretKeyFile");
  }
  const url = e.string("url") ?? TENCENT_FACEID_URL;
  const secretId = e.string("secretId", { required: true });
  const fromEnv = e.string("secretKeyEnv");
  const fromFile = e.string("secretKeyFile");
  let secretKey: string | undefined;
  if ((fromEnv === undefined) === (fromFile === undefined)) {
    if (!e.has("secretKey")) e.problems.add(e.at, "give exactly one of secretKeyEnv and secretKeyFile");
  } else if (fromEnv !== undefined) {
    secretKey = env[fromEnv]?.trim();
    if (!secretKey) e.problems.add(e.path("secretKeyEnv"), `the environment variable ${fromEnv} is not set`);
  } else if (fromFile !== undefined) {
    const keyFile = path.resolve(dir, fromFile);
    try {
      secretKey = fs.readFileSync(keyFile, "utf8").trim();
    } catch (err) {
      e.problems.add(e.path("secretKeyFile"), `cannot read ${keyFile} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  const publicKeys = { rsa: e.string("rsaPublicKey"), sm2: e.string("sm2PublicKey") };
  if (secretId === undefined || secretKey === undefined) return undefined;
  try {
    checkUpstream({ url, secretId, secretKey, publicKeys });
  } catch (err) {
    if (!(err instanceof UpstreamInputError)) throw err;
    e.problems.add(e.at, err.message);
    return undefined;
  }
  return { url, secretId, secretKey, publicKeys };
}
