/** The `sanyao` command. Every subcommand takes --data DIR (env SANYAO_DATA_DIR, default ./data). */
import { Command, InvalidArgumentError, Option } from "commander";
import cliProgress from "cli-progress";
import fs from "node:fs";
import { ApiError } from "../api3/errors";
import { TencentCloudError } from "../client/errors";
import { FaceIdClient, type PhoneVerificationRequest } from "../client/faceid";
import { encryptRequestFields, type EncryptableField } from "../client/field-encryption";
import { KmsClient } from "../client/kms";
import { KeyService } from "../kms/keys";
import { ConfigError, loadConfig } from "../config";
import { demoCredentials } from "../demo";
import { openInstallation, type Installation } from "../installation";
import { createSecretFile } from "../secret";
import { chinaDate } from "../rules/precheck";
import { loadRuleTables } from "../rules/tables";
import { importRecordsFile } from "../sources/import";
import { formatAmount, parseAmount } from "../money";
import type { AccountPatch, BillingStatus } from "../store/contract";
import { printJson, printTable, UsageError } from "./output";
import { runBatch, type BatchSummary } from "./batch";
import { serve } from "./serve";

interface DataOption {
  data?: string;
  databaseUrl?: string;
  json?: boolean;
}

function bool(value: string): boolean {
  if (value !== "true" && value !== "false") throw new InvalidArgumentError("true or false");
  return value === "true";
}

function billing(value: string): BillingStatus {
  if (value !== "ok" && value !== "abnormal") throw new InvalidArgumentError("ok or abnormal");
  return value;
}

function count(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > 1_000_000) throw new InvalidArgumentError(`a whole number from ${min} to 1000000`);
    return n;
  };
}

function day(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) throw new InvalidArgumentError("a date YYYY-MM-DD");
  return value;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("a port is a whole number from 0 to 65535");
  return n;
}

const dataOption = () =>
  new Option("--data <dir>", "data directory (secret, SQLite database)").env("SANYAO_DATA_DIR").default("./data");
const databaseOption = () =>
  new Option("--database-url <url>", "scale-out mode: PostgreSQL (postgres://…) instead of --data").env("SANYAO_DATABASE_URL");
const jsonOption = () => new Option("--json", "print one JSON object on stdout and nothing else");

function configFor(opts: DataOption) {
  return loadConfig({ dataDir: opts.data, databaseUrl: opts.databaseUrl });
}

/** --secret-id/--secret-key (or SANYAO_SECRET_ID/SANYAO_SECRET_KEY), else the demo key of the installation. */
async function credentialsFor(opts: DataOption & { secretId?: string; secretKey?: string }) {
  if (opts.secretId && opts.secretKey) return { secretId: opts.secretId, secretKey: opts.secretKey };
  const demo = await withInstallation(opts, (inst) => demoCredentials(inst));
  if (!demo) throw new UsageError("No credentials: give --secret-id/--secret-key, or start `sanyao serve` once to create the demo key.");
  return { secretId: demo.secretId, secretKey: demo.secretKey };
}

async function withInstallation<T>(opts: DataOption, work: (inst: Installation) => Promise<T>): Promise<T> {
  const inst = await openInstallation(configFor(opts));
  try {
    return await work(inst);
  } finally {
    await inst.close();
  }
}

export function buildProgram(): Command {
  const program = new Command("sanyao")
    .description(
      "Self-hosted Tencent Cloud FaceID PhoneVerification (phone + name + identity number) over the API 3.0 protocol.",
    )
    .showHelpAfterError()
    // Usage errors exit with 2, like most Unix tools; help and version exit with 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  program
    .command("serve")
    .description("serve the API; on first start create the data directory, a demo account, key and records")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(new Option("--port <port>", "TCP port (0 = any free port)").env("SANYAO_PORT").default(8080).argParser(port))
    .addOption(new Option("--host <host>", "address to listen on").env("SANYAO_HOST").default("127.0.0.1"))
    .addOption(
      new Option("--workers <n>", "server processes sharing the port and the embedded store (0 = one per core)")
        .env("SANYAO_WORKERS")
        .default(1)
        .argParser(count(0)),
    )
    .addHelpText(
      "after",
      "\nOther settings come from the environment: SANYAO_LANGUAGE (en-US|zh-CN), SANYAO_SOURCE_TIMEOUT_MS,\n" +
        "SANYAO_LOG_LEVEL, SANYAO_DATA_CARDS and SANYAO_BROADNET (valid|unsupported), SANYAO_FOREIGN_PR (true|false).",
    )
    .action(async (opts: { data: string; databaseUrl?: string; port: number; host: string; workers: number }) => {
      const dataFlag = opts.databaseUrl ? "" : opts.data === "./data" ? "" : ` --data ${opts.data}`;
      await serve({ dataDir: opts.data, databaseUrl: opts.databaseUrl, port: opts.port, host: opts.host, workers: opts.workers }, dataFlag);
    });

  program
    .command("secret")
    .description("the installation secret (scale-out mode: one file shared by every instance)")
    .command("create")
    .description("write a new installation secret to a file (mode 0600); never overwrites")
    .requiredOption("--out <file>", "where to write it")
    .action((opts: { out: string }) => {
      try {
        createSecretFile(opts.out);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new UsageError(`${opts.out} exists already; a secret is never overwritten.`);
        throw err;
      }
      process.stdout.write(`Wrote a new installation secret to ${opts.out}. Give it to every instance as SANYAO_SECRET_FILE.\n`);
    });

  const accounts = program.command("accounts").description("accounts that own keys");
  accounts
    .command("create")
    .description("create an account")
    .requiredOption("--name <name>", "a name for the account (a team, a client)")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((opts: DataOption & { name: string }) =>
      withInstallation(opts, async ({ store }) => {
        if (opts.name.trim() === "") throw new UsageError("--name must not be empty.");
        const account = await store.createAccount(opts.name.trim(), configFor(opts).accountDefaults);
        if (opts.json) printJson(account);
        else process.stdout.write(`Created account ${account.accountId} (${account.name}).\n`);
      }),
    );
  accounts
    .command("list")
    .description("list accounts")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        const list = await store.listAccounts();
        if (opts.json) printJson({ accounts: list });
        else printTable(list as unknown as Array<Record<string, unknown>>, ["accountId", "name", "createdAt"]);
      }),
    );

  accounts
    .command("show")
    .description("an account with its states, limits and balance")
    .argument("<id>")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((id: string, opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        const account = await store.getAccount(id);
        if (!account) throw new UsageError(`No account ${id}.`);
        const shown = { ...account, balance: formatAmount(account.balance) };
        if (opts.json) return printJson(shown);
        for (const [k, v] of Object.entries(shown)) process.stdout.write(`${k.padEnd(17)} ${v}\n`);
      }),
    );
  accounts
    .command("set")
    .description("change an account's states and limits; a running server applies them on its next request")
    .argument("<id>")
    .option("--activated <bool>", "the service is activated (false: UnauthorizedOperation.Nonactivated)", bool)
    .option("--identity-verified <bool>", "the account's own identity is verified (false: UnauthorizedOperation.NonAuthorize)", bool)
    .option("--billing <status>", "ok, or abnormal (UnauthorizedOperation.ChargeStatusException)", billing)
    .option("--rate-limit <n>", "admitted requests per second and action", count(1))
    .option("--daily-cap <n>", "attempts a China-time day for one number or identity number (0 = unlimited)", count(0))
    .option("--kms-authorized <bool>", "the service may use the account's KMS keys to decrypt fields (false: FailedOperation.StsUnAuthErrError)", bool)
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      (
        id: string,
        opts: DataOption & {
          activated?: boolean; identityVerified?: boolean; billing?: BillingStatus; rateLimit?: number; dailyCap?: number;
          kmsAuthorized?: boolean;
        },
      ) =>
        withInstallation(opts, async ({ store }) => {
          const patch: AccountPatch = {
            activated: opts.activated,
            identityVerified: opts.identityVerified,
            billing: opts.billing,
            rateLimit: opts.rateLimit,
            dailyCap: opts.dailyCap,
            kmsAuthorized: opts.kmsAuthorized,
          };
          if (Object.values(patch).every((v) => v === undefined)) throw new UsageError("Nothing to set: see sanyao accounts set --help.");
          if (!(await store.updateAccount(id, patch))) throw new UsageError(`No account ${id}.`);
          const account = (await store.getAccount(id))!;
          const shown = { ...account, balance: formatAmount(account.balance) };
          if (opts.json) printJson(shown);
          else process.stdout.write(`Updated account ${id}.\n`);
        }),
    );
  accounts
    .command("top-up")
    .description("add to an account's balance (CNY, e.g. 100 or 12.50)")
    .argument("<id>")
    .argument("<amount>")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((id: string, amountText: string, opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        const amount = parseAmount(amountText);
        if (amount === undefined || amount <= 0) throw new UsageError("The amount must be positive, with at most two decimals.");
        const balance = await store.topUp(id, amount);
        if (balance === undefined) throw new UsageError(`No account ${id}.`);
        if (opts.json) printJson({ accountId: id, balance: formatAmount(balance) });
        else process.stdout.write(`Balance of ${id}: ${formatAmount(balance)}\n`);
      }),
    );

  program
    .command("usage")
    .description("calls, charged calls and amounts per account, China-time day and mode, from the ledger")
    .option("--account <id>", "one account only")
    .option("--from <date>", "first day, YYYY-MM-DD (China time)", day)
    .option("--to <date>", "last day, YYYY-MM-DD (China time)", day)
    .option("--csv", "CSV on stdout")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((opts: DataOption & { account?: string; from?: string; to?: string; csv?: boolean }) =>
      withInstallation(opts, async ({ store }) => {
        const rows = await store.usage({ accountId: opts.account, from: opts.from, to: opts.to });
        const totals = rows.reduce(
          (t, r) => ({ calls: t.calls + r.calls, charged: t.charged + r.charged, amount: t.amount + r.amount }),
          { calls: 0, charged: 0, amount: 0 },
        );
        const shown = rows.map((r) => ({ ...r, amount: formatAmount(r.amount) }));
        if (opts.json) return printJson({ rows: shown, totals: { ...totals, amount: formatAmount(totals.amount) } });
        if (opts.csv) {
          const lines = ["accountId,day,mode,calls,charged,amount", ...shown.map((r) => [r.accountId, r.day, r.mode, r.calls, r.charged, r.amount].join(","))];
          process.stdout.write(lines.join("\n") + "\n");
          return;
        }
        printTable(shown as unknown as Array<Record<string, unknown>>, ["accountId", "day", "mode", "calls", "charged", "amount"]);
        process.stdout.write(`total: ${totals.calls} calls, ${totals.charged} charged, ${formatAmount(totals.amount)}\n`);
      }),
    );

  const keys = program.command("keys").description("API keys (SecretId/SecretKey pairs)");
  keys
    .command("create")
    .description("create a key; the SecretKey is shown in full only here")
    .requiredOption("--account <id>", "the account that owns the key")
    .option("--secret-id <id>", "use this SecretId instead of a random one (a fixed key for CI)")
    .option("--secret-key <key>", "use this SecretKey (with --secret-id)")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((opts: DataOption & { account: string; secretId?: string; secretKey?: string }) =>
      withInstallation(opts, async ({ store }) => {
        if ((opts.secretId === undefined) !== (opts.secretKey === undefined)) {
          throw new UsageError("--secret-id and --secret-key go together.");
        }
        if (!(await store.getAccount(opts.account))) throw new UsageError(`No account ${opts.account}.`);
        const given = opts.secretId ? { secretId: opts.secretId, secretKey: opts.secretKey! } : undefined;
        const key = await store.createKey(opts.account, given);
        if (opts.json) printJson(key);
        else process.stdout.write(`SecretId:  ${key.secretId}\nSecretKey: ${key.secretKey}\nKeep the SecretKey now: it is not shown again.\n`);
      }),
    );
  keys
    .command("list")
    .description("list an account's keys (never their secrets)")
    .requiredOption("--account <id>", "account id")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((opts: DataOption & { account: string }) =>
      withInstallation(opts, async ({ store }) => {
        if (!(await store.getAccount(opts.account))) throw new UsageError(`No account ${opts.account}.`);
        const list = await store.listKeys(opts.account);
        if (opts.json) printJson({ keys: list });
        else printTable(list as unknown as Array<Record<string, unknown>>, ["secretId", "enabled", "createdAt"]);
      }),
    );
  keys
    .command("disable")
    .description("disable a key; calls signed with it fail with AuthFailure.SecretIdNotFound")
    .argument("<secretId>")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((secretId: string, opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        if (!(await store.disableKey(secretId))) throw new UsageError("No such key.");
        if (opts.json) printJson({ secretId, enabled: false });
        else process.stdout.write(`Disabled ${secretId}.\n`);
      }),
    );

  const kms = program.command("kms").description("the built-in KMS (service kms, 2019-01-18)");
  kms
    .command("create-key")
    .description("create a KMS key (CMK) for an account, as the KMS CreateKey action would")
    .requiredOption("--account <id>", "the account that owns the key")
    .option("--alias <alias>", "1-60 letters, digits, '-' or '_', unique per account and region (default: a generated one)")
    .option("--region <region>", "the key's region", "ap-guangzhou")
    .option("--description <text>", "free text")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action((opts: DataOption & { account: string; alias?: string; region: string; description?: string }) =>
      withInstallation(opts, async ({ store }) => {
        if (!(await store.getAccount(opts.account))) throw new UsageError(`No account ${opts.account}.`);
        const config = configFor(opts);
        if (!config.kmsRegions.has(opts.region)) throw new UsageError(`The region ${opts.region} is not served (SANYAO_KMS_REGIONS).`);
        const alias = opts.alias ?? `sanyao-${Date.now().toString(36)}`;
        let key;
        try {
          key = await new KeyService(store, Date.now).createKey(opts.account, opts.region, { alias, description: opts.description });
        } catch (err) {
          if (err instanceof ApiError) throw new UsageError(`${err.code}: ${err.messageIn("en-US")}`);
          throw err;
        }
        if (opts.json) printJson({ keyId: key.keyId, alias: key.alias, region: key.region, accountId: key.accountId });
        else process.stdout.write(`KeyId: ${key.keyId} (alias ${key.alias}, ${key.region})\n`);
      }),
    );

  const records = program.command("records").description("subscriber records the service verifies against");
  records
    .command("import")
    .description("import records from CSV (header phone,name,idcard[,isp][,status]) or NDJSON; a number imported again is replaced")
    .argument("<file>")
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nOnly keyed hashes of the values are stored. isp: mobile, telecom, cucc, broadnet or empty (the segment's\n" +
        "carrier). status: active (default), suspended (always -4 OtherMismatch) or busy (always -11).\n" +
        "Rejected rows are listed by line number and reason, never by value.",
    )
    .action((file: string, opts: DataOption) =>
      withInstallation(opts, async ({ store, keyring }) => {
        if (!fs.existsSync(file)) throw new UsageError(`No such file: ${file}`);
        const total = fs.statSync(file).size;
        const bar =
          process.stderr.isTTY && !opts.json
            ? new cliProgress.SingleBar(
                { stream: process.stderr, format: "importing [{bar}] {percentage}% | {eta_formatted} left", etaBuffer: 50 },
                cliProgress.Presets.shades_classic,
              )
            : undefined;
        bar?.start(total, 0);
        const config = configFor(opts);
        let summary;
        try {
          summary = await importRecordsFile(file, store, keyring, {
            tables: loadRuleTables(),
            policy: config.policy,
            todayChina: chinaDate(Date.now()),
            onProgress: (bytes) => bar?.update(bytes),
          });
        } finally {
          bar?.stop();
        }
        if (opts.json) return printJson(summary);
        process.stdout.write(
          `read ${summary.read}, imported ${summary.imported} (replaced ${summary.replaced}), rejected ${summary.rejected}\n`,
        );
        for (const r of summary.rejections) process.stdout.write(`  line ${r.line}: ${r.reason}\n`);
        if (summary.rejected > summary.rejections.length) {
          process.stdout.write(`  … and ${summary.rejected - summary.rejections.length} more\n`);
        }
      }),
    );

  program
    .command("verify")
    .description("make one signed PhoneVerification call and print the Response object")
    .requiredOption("--phone <phone>", "mobile number")
    .requiredOption("--name <name>", "name")
    .requiredOption("--idcard <id>", "identity number")
    .option("--detailed", "VerifyMode 1: say what did not match on -4")
    .option("--endpoint <url>", "where the service listens", "http://127.0.0.1:8080")
    .option("--language <lang>", "zh-CN or en-US")
    .option("--encrypt", "encrypt the fields with a data key from KMS GenerateDataKey (needs --kms-key)")
    .option("--kms-key <keyId>", "the KMS key for --encrypt")
    .option("--kms-region <region>", "the KMS key's region", "ap-guangzhou")
    .option("--encrypt-fields <list>", "which fields --encrypt encrypts", "IdCard,Name,Phone")
    .addOption(new Option("--secret-id <id>", "SecretId (default: the demo key of --data)").env("SANYAO_SECRET_ID"))
    .addOption(new Option("--secret-key <key>", "SecretKey").env("SANYAO_SECRET_KEY"))
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .action(
      async (
        opts: DataOption & {
          phone: string; name: string; idcard: string; detailed?: boolean; endpoint: string;
          language?: string; secretId?: string; secretKey?: string; encrypt?: boolean; kmsKey?: string;
          kmsRegion: string; encryptFields: string;
        },
      ) => {
        const fields = opts.encryptFields.split(",").map((f) => f.trim()).filter(Boolean) as EncryptableField[];
        if (opts.encrypt && !opts.kmsKey) throw new UsageError("--encrypt needs --kms-key KEY_ID (sanyao kms create-key).");
        if (fields.some((f) => !["IdCard", "Name", "Phone"].includes(f))) {
          throw new UsageError("--encrypt-fields lists IdCard, Name and/or Phone.");
        }
        if (opts.language && opts.language !== "zh-CN" && opts.language !== "en-US") {
          throw new UsageError("--language must be zh-CN or en-US.");
        }
        const credentials = await credentialsFor(opts);
        const clientOptions = {
          credential: { secretId: credentials.secretId, secretKey: credentials.secretKey },
          endpoint: opts.endpoint,
          language: opts.language as "zh-CN" | "en-US" | undefined,
        };
        let params: PhoneVerificationRequest = { Phone: opts.phone, Name: opts.name, IdCard: opts.idcard };
        if (opts.detailed) params.VerifyMode = "1";
        try {
          if (opts.encrypt) {
            const kms = new KmsClient({ ...clientOptions, region: opts.kmsRegion });
            params = encryptRequestFields(params, await kms.dataKey(opts.kmsKey!), fields);
            kms.close();
          }
          const faceid = new FaceIdClient(clientOptions);
          printJson(await faceid.phoneVerification(params));
          faceid.close();
        } catch (err) {
          if (!(err instanceof TencentCloudError)) throw err;
          printJson({ Error: { Code: err.code, Message: err.message }, RequestId: err.requestId });
          process.exitCode = 1;
        }
      },
    );

  program
    .command("batch")
    .description("verify every row of a CSV file at the allowed pace; rerun with the same --out to resume")
    .argument("<in.csv>", "a CSV file with a header row")
    .option("--out <out.csv>", "where to write one row per input row (its progress is journaled in OUT.journal)")
    .option("--phone-column <name>", "the phone column", "phone")
    .option("--name-column <name>", "the name column", "name")
    .option("--idcard-column <name>", "the identity number column", "idcard")
    .option("--detailed", "VerifyMode 1: ResultDetail on -4")
    .option("--encrypt", "encrypt the fields with a data key from KMS (needs --kms-key)")
    .option("--kms-key <keyId>", "the KMS key for --encrypt")
    .option("--kms-region <region>", "the KMS key's region", "ap-guangzhou")
    .option("--rate <n>", "requests per second at most (the service allows 20)", count(1), 20)
    .option("--concurrency <n>", "requests in flight at most", count(1), 4)
    .option("--dry-run", "check every row with the local rules; send nothing")
    .option("--resend-interrupted", "send again the rows a killed run had sent without an answer (they may be charged twice)")
    .option("--endpoint <url>", "where the service listens", "http://127.0.0.1:8080")
    .option("--language <lang>", "zh-CN or en-US")
    .addOption(new Option("--secret-id <id>", "SecretId (default: the demo key of --data)").env("SANYAO_SECRET_ID"))
    .addOption(new Option("--secret-key <key>", "SecretKey").env("SANYAO_SECRET_KEY"))
    .addOption(dataOption())
    .addOption(databaseOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nOutput columns: the input's, then result, description, isp, result_detail, request_id, charged, error_code.\n" +
        "A row is never sent twice: answered rows are skipped on a rerun; rows in flight when a run was killed are\n" +
        "written as Interrupted (their answer is unknown) unless --resend-interrupted. Rows that got an error (never\n" +
        "charged) are sent again. Malformed rows are reported by line number and skipped.",
    )
    .action(
      async (
        input: string,
        opts: DataOption & {
          out?: string; phoneColumn: string; nameColumn: string; idcardColumn: string; detailed?: boolean; encrypt?: boolean;
          kmsKey?: string; kmsRegion: string; rate: number; concurrency: number; dryRun?: boolean; resendInterrupted?: boolean;
          endpoint: string; language?: string; secretId?: string; secretKey?: string;
        },
      ) => {
        if (opts.language && opts.language !== "zh-CN" && opts.language !== "en-US") throw new UsageError("--language must be zh-CN or en-US.");
        if (opts.encrypt && !opts.kmsKey) throw new UsageError("--encrypt needs --kms-key KEY_ID.");
        const summary = await runBatch({
          input,
          out: opts.out,
          columns: { phone: opts.phoneColumn, name: opts.nameColumn, idcard: opts.idcardColumn },
          credential: opts.dryRun ? { secretId: "", secretKey: "" } : await credentialsFor(opts),
          endpoint: opts.endpoint,
          language: opts.language as "zh-CN" | "en-US" | undefined,
          detailed: Boolean(opts.detailed),
          encrypt: opts.encrypt ? { keyId: opts.kmsKey!, region: opts.kmsRegion, fields: ["IdCard", "Name", "Phone"] } : undefined,
          rate: opts.rate,
          concurrency: opts.concurrency,
          dryRun: Boolean(opts.dryRun),
          resendInterrupted: Boolean(opts.resendInterrupted),
          json: Boolean(opts.json),
          config: configFor(opts),
        });
        if (opts.json) printJson(summary);
        else printBatchSummary(summary);
        if (!summary.completed) process.exitCode = 130;
      },
    );

  return program;
}

function printBatchSummary(s: BatchSummary): void {
  const lines = [
    s.completed ? `${s.rows} rows${s.out ? ` → ${s.out}` : " checked (dry run)"}` : `stopped after ${s.rows} rows; rerun the same command to continue`,
    ...(s.dryRun ? [] : [`sent this run: ${s.sentThisRun}; answered before: ${s.skippedAlreadyAnswered}; charged (all runs): ${s.charged}`]),
    s.dryRun ? "by local pre-check:" : "by result:",
    ...Object.entries(s.byResult).sort().map(([k, n]) => `  ${k.padEnd(24)} ${n}`),
  ];
  if (s.malformed.length > 0) lines.push(`malformed rows (skipped): ${s.malformed.map((m) => `line ${m.line} (${m.reason})`).join(", ")}`);
  if (s.interrupted.length > 0) lines.push(`interrupted rows (not resent): lines ${s.interrupted.join(", ")}`);
  process.stdout.write(lines.join("\n") + "\n");
}

export async function main(argv: string[]): Promise<void> {
  // `sanyao … | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`sanyao: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`sanyao: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}
