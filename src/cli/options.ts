/** What the commands share: storage and output options, argument parsers, opening the installation, credentials. */
import { InvalidArgumentError, Option, type Command } from "commander";
import fs from "node:fs";
import { type ConfigOverrides, loadConfig } from "../app/config";
import { demoCredentials } from "../app/demo";
import { openInstallation, type Installation } from "../app/installation";
import type { BillingStatus } from "../store/model";
import { UsageError } from "./output";

export interface DataOption {
  data?: string;
  databaseUrl?: string;
  json?: boolean;
}

export function bool(value: string): boolean {
  if (value !== "true" && value !== "false") throw new InvalidArgumentError("true or false");
  return value === "true";
}

export function billing(value: string): BillingStatus {
  if (value !== "ok" && value !== "abnormal") throw new InvalidArgumentError("ok or abnormal");
  return value;
}

export function count(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > 1_000_000) throw new InvalidArgumentError(`a whole number from ${min} to 1000000`);
    return n;
  };
}

export function day(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) throw new InvalidArgumentError("a date YYYY-MM-DD");
  return value;
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("a port is a whole number from 0 to 65535");
  return n;
}

export const dataOption = () =>
  new Option("--data <dir>", "data directory (secret, SQLite database)").env("SANYAO_DATA_DIR").default("./data");
export const databaseOption = () =>
  new Option("--database-url <url>", "scale-out mode: PostgreSQL (postgres://…) instead of --data").env("SANYAO_DATABASE_URL");
export const seedOption = () =>
  new Option("--seed <file>", "apply this seed file (JSON: accounts, keys, records, scenarios, upstream; see the README)").env(
    "SANYAO_SEED",
  );
export const jsonOption = () => new Option("--json", "print one JSON object on stdout and nothing else");

/** What `serve` is configured by on the command line (`sanyao config` takes the same, to show what serve would use). */
export function serverOptions(command: Command): Command {
  return command
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(new Option("--port <port>", "TCP port (0 = any free port)").env("SANYAO_PORT").default(8080).argParser(port))
    .addOption(new Option("--host <host>", "address to listen on").env("SANYAO_HOST").default("127.0.0.1"))
    .addOption(
      new Option("--ops-port <port>", "serve the operations API and /metrics on this port only, not on --port (0 = any free port)")
        .env("SANYAO_OPS_PORT")
        .argParser(port),
    )
    .addOption(new Option("--ops-host <host>", "address of the operations listener (default 127.0.0.1)").env("SANYAO_OPS_HOST"))
    .addOption(
      new Option("--workers <n>", "server processes sharing the port and the embedded store (0 = one per core)")
        .env("SANYAO_WORKERS")
        .default(1)
        .argParser(count(0)),
    )
    .option(
      "--no-demo",
      "no demo account, key or records (env SANYAO_DEMO=false); an installation made without them never gets them, and " +
        "on one that has them the demo key is not printed",
    )
    .addOption(seedOption());
}

/**
 * The settings the command line gave, as configuration overrides. Only flags count: a value commander took from the
 * environment or a default is left to loadConfig, which reads the same variables and records where each came from.
 */
export function flagOverrides(command: Command): ConfigOverrides {
  const given = (key: string): unknown => (command.getOptionValueSource(key) === "cli" ? command.getOptionValue(key) : undefined);
  const text = (key: string) => {
    const v = given(key);
    return typeof v === "string" ? v : undefined;
  };
  const number = (key: string) => {
    const v = given(key);
    return typeof v === "number" ? v : undefined;
  };
  return {
    dataDir: text("data"),
    databaseUrl: text("databaseUrl"),
    port: number("port"),
    host: text("host"),
    opsPort: number("opsPort"),
    opsHost: text("opsHost"),
    workers: number("workers"),
    seed: text("seed"),
    // the flag turns the demo off; without it, SANYAO_DEMO decides
    demo: given("demo") === false ? false : undefined,
  };
}

/** --data / --database-url (where the installation is) and --json: what every administrative command takes. */
export function storageOptions(command: Command): Command {
  return command.addOption(dataOption()).addOption(databaseOption()).addOption(jsonOption());
}

export type Language = "zh-CN" | "en-US";

function language(value: string): Language {
  if (value !== "zh-CN" && value !== "en-US") throw new InvalidArgumentError("zh-CN or en-US");
  return value;
}

export const DEFAULT_ENDPOINT = "http://127.0.0.1:8080";

/** A URL, or host:port for a local server over plain HTTP. */
export function endpoint(value: string): string {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
  } catch {
    throw new InvalidArgumentError("an http:// or https:// URL, or host:port");
  }
  return url;
}

/** The words a command prints when nothing listens where it called. */
export function notListening(url: string): string {
  return (
    `Nothing answers at ${url} (connection refused, or no such host). Is \`sanyao serve\` running there? ` +
    "Point at it with --endpoint URL or SANYAO_ENDPOINT."
  );
}

/** How a command that calls the API reaches it and signs: endpoint, language, credentials. */
export function clientOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--endpoint <url>", "where the service listens (host:port means http://host:port)")
        .env("SANYAO_ENDPOINT")
        .default(DEFAULT_ENDPOINT)
        .argParser(endpoint),
    )
    .option("--language <lang>", "zh-CN or en-US", language)
    .addOption(new Option("--secret-id <id>", "SecretId (default: the demo key of --data)").env("SANYAO_SECRET_ID"))
    .addOption(new Option("--secret-key <key>", "SecretKey").env("SANYAO_SECRET_KEY"));
}

/** An input file that exists and is a file (not a directory), or a UsageError that says which. */
export function readableFile(file: string): fs.Stats {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(file);
  } catch {
    throw new UsageError(`No such file: ${file}`);
  }
  if (!stats.isFile())
    throw new UsageError(`${file} is ${stats.isDirectory() ? "a directory" : "not a regular file"}; give a CSV or NDJSON file.`);
  return stats;
}

export function configFor(opts: DataOption) {
  return loadConfig({ dataDir: opts.data, databaseUrl: opts.databaseUrl });
}

/** --secret-id/--secret-key (or SANYAO_SECRET_ID/SANYAO_SECRET_KEY), else the demo key of the installation. */
export async function credentialsFor(opts: DataOption & { secretId?: string; secretKey?: string }) {
  if (opts.secretId && opts.secretKey) return { secretId: opts.secretId, secretKey: opts.secretKey };
  const demo = await withInstallation(opts, (inst) => demoCredentials(inst));
  if (!demo) throw new UsageError("No credentials: give --secret-id/--secret-key, or start `sanyao serve` once to create the demo key.");
  return { secretId: demo.secretId, secretKey: demo.secretKey };
}

export async function withInstallation<T>(opts: DataOption, work: (inst: Installation) => Promise<T>): Promise<T> {
  const inst = await openInstallation(configFor(opts), { create: false });
  try {
    return await work(inst);
  } finally {
    await inst.close();
  }
}
