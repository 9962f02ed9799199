/** Commands that administer an installation: secret, accounts, usage, keys. */
import { type Command, InvalidArgumentError } from "commander";
import { FACEID_ACTIONS, isFaceIdAction } from "../faceid/tariff";
import { CLOUDAUTH_ACTIONS, isCloudauthAction } from "../cloudauth/tariff";
import { changeAccount, createAccount, shownAccount, topUpAccount } from "../admin/accounts";
import { shownUnknown } from "../admin/ledger";
import { USAGE_COLUMNS, usageCells, usageReport } from "../admin/usage";
import { formatAmount, parseAmount } from "../common/money";
import { createSecretFile } from "../common/keyring";
import type { AccountPatch, BillingStatus } from "../store/model";
import { bool, billing, configFor, count, day, storageOptions, withInstallation, type DataOption } from "./options";
import { printJson, printTable, UsageError } from "./output";

/** `--rate-limit`, as given so far: N for every action, and ACTION=N for single ones. */
interface RateLimitArg {
  all?: number;
  actions: Record<string, number>;
}

function rateLimitArg(value: string, previous: RateLimitArg | undefined): RateLimitArg {
  const out: RateLimitArg = previous ?? { actions: {} };
  const [action, n] = value.includes("=") ? value.split("=", 2) : [undefined, value];
  const limit = count(1)(n ?? "");
  if (action === undefined) out.all = limit;
  else if (isFaceIdAction(action) || isCloudauthAction(action)) out.actions[action] = limit;
  else
    throw new InvalidArgumentError(
      `${action} is not a FaceID or Cloudauth action (${[...FACEID_ACTIONS, ...CLOUDAUTH_ACTIONS].join(", ")})`,
    );
  return out;
}

function budget(value: string): number {
  const fen = parseAmount(value);
  if (fen === undefined || fen < 0) throw new InvalidArgumentError("an amount in CNY, such as 5000 or 12.50 (0 = no budget)");
  return fen;
}

export function addAdminCommands(program: Command): void {
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
        if ((err as NodeJS.ErrnoException).code === "EEXIST")
          throw new UsageError(`${opts.out} exists already; a secret is never overwritten.`);
        throw err;
      }
      process.stdout.write(`Wrote a new installation secret to ${opts.out}. Give it to every instance as SANYAO_SECRET_FILE.\n`);
    });

  const accounts = program.command("accounts").description("accounts that own keys");
  storageOptions(accounts.command("create"))
    .description("create an account")
    .requiredOption("--name <name>", "a name for the account (a team, a client)")
    .action((opts: DataOption & { name: string }) =>
      withInstallation(opts, async ({ store }) => {
        if (opts.name.trim() === "") throw new UsageError("--name must not be empty.");
        const account = await createAccount(store, opts.name, configFor(opts).accountDefaults);
        if (opts.json) printJson(shownAccount(account));
        else process.stdout.write(`Created account ${account.accountId} (${account.name}).\n`);
      }),
    );
  storageOptions(accounts.command("list"))
    .description("list accounts")
    .action((opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        const list = (await store.accounts.list()).map(shownAccount);
        if (opts.json) printJson({ accounts: list });
        else printTable(list, ["accountId", "name", "balance", "createdAt"]);
      }),
    );

  storageOptions(accounts.command("show"))
    .description("an account with its states, limits and balance")
    .argument("<id>")
    .action((id: string, opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        const account = await store.accounts.get(id);
        if (!account) throw new UsageError(`No account ${id}.`);
        const shown = shownAccount(account);
        if (opts.json) return printJson(shown);
        for (const [k, v] of Object.entries(shown)) {
          const text =
            typeof v === "object"
              ? Object.entries(v)
                  .map(([a, n]) => `${a}=${n}`)
                  .join(", ") || "-"
              : String(v);
          process.stdout.write(`${k.padEnd(17)} ${text}\n`);
        }
      }),
    );
  storageOptions(accounts.command("set"))
    .description("change an account's states and limits; a running server applies them within 250 ms")
    .argument("<id>")
    .option("--activated <bool>", "the service is activated (false: UnauthorizedOperation.Nonactivated)", bool)
    .option("--identity-verified <bool>", "the account's own identity is verified (false: UnauthorizedOperation.NonAuthorize)", bool)
    .option("--billing <status>", "ok, or abnormal (UnauthorizedOperation.ChargeStatusException)", billing)
    .option(
      "--rate-limit <n|ACTION=n>",
      "admitted requests per second: N for every action, ACTION=N for one (repeatable; e.g. IdCardVerification=100)",
      rateLimitArg,
      undefined,
    )
    .option("--daily-cap <n>", "attempts a China-time day for one number or identity number (0 = unlimited)", count(0))
    .option(
      "--kms-authorized <bool>",
      "the service may use the account's KMS keys to decrypt fields (false: FailedOperation.StsUnAuthErrError)",
      bool,
    )
    .option(
      "--monthly-budget <amount>",
      "gateway mode: CNY the account may spend upstream in a China-time calendar month; a call that would go past it is refused before the upstream sees it (0 = none)",
      budget,
    )
    .action(
      (
        id: string,
        opts: DataOption & {
          activated?: boolean;
          identityVerified?: boolean;
          billing?: BillingStatus;
          rateLimit?: RateLimitArg;
          dailyCap?: number;
          kmsAuthorized?: boolean;
          monthlyBudget?: number;
        },
      ) =>
        withInstallation(opts, async ({ store }) => {
          const current = await store.accounts.get(id);
          if (!current) throw new UsageError(`No account ${id}.`);
          const limits = opts.rateLimit;
          const patch: AccountPatch = {
            activated: opts.activated,
            identityVerified: opts.identityVerified,
            billing: opts.billing,
            rateLimit: limits?.all,
            // N for every action clears the single-action limits; ACTION=N adds to them
            rateLimits: limits && (limits.all === undefined ? { ...current.rateLimits, ...limits.actions } : limits.actions),
            dailyCap: opts.dailyCap,
            kmsAuthorized: opts.kmsAuthorized,
            monthlyBudget: opts.monthlyBudget,
          };
          if (Object.values(patch).every((v) => v === undefined)) throw new UsageError("Nothing to set: see sanyao accounts set --help.");
          const account = await changeAccount(store, id, patch);
          if (!account) throw new UsageError(`No account ${id}.`);
          if (opts.json) printJson(shownAccount(account));
          else process.stdout.write(`Updated account ${id}.\n`);
        }),
    );
  storageOptions(accounts.command("top-up"))
    .description("add to an account's balance (CNY, e.g. 100 or 12.50), with a note kept beside it")
    .argument("<id>")
    .argument("<amount>")
    .option("--note <text>", "why: an invoice, a transfer (listed with the top-up by the operations API)")
    .action((id: string, amountText: string, opts: DataOption & { note?: string }) =>
      withInstallation(opts, async ({ store }) => {
        const amount = parseAmount(amountText);
        if (amount === undefined || amount <= 0) throw new UsageError("The amount must be positive, with at most two decimals.");
        const done = await topUpAccount(store, id, amount, opts.note);
        if (done === undefined) throw new UsageError(`No account ${id}.`);
        if (opts.json) printJson({ accountId: id, balance: formatAmount(done.balance) });
        else process.stdout.write(`Balance of ${id}: ${formatAmount(done.balance)}\n`);
      }),
    );

  storageOptions(program.command("usage"))
    .description("calls, charged calls and amounts per account, China-time day, action and mode, from the ledger")
    .option("--account <id>", "one account only")
    .option("--from <date>", "first day, YYYY-MM-DD (China time)", day)
    .option("--to <date>", "last day, YYYY-MM-DD (China time)", day)
    .option("--csv", "CSV on stdout")
    .option("--test", "the test ledger instead: calls and charges of test keys (keys create --test), never debited")
    .option("--unknown", "gateway mode: upstream calls sent and never answered, which the upstream may have charged")
    .action((opts: DataOption & { account?: string; from?: string; to?: string; csv?: boolean; test?: boolean; unknown?: boolean }) =>
      withInstallation(opts, async ({ store }) => {
        if (opts.unknown) {
          const unknown = (await store.ledger.unknowns({ accountId: opts.account })).map(shownUnknown);
          if (opts.json) return printJson({ unknown });
          return printTable(unknown, ["at", "requestId", "accountId", "secretId", "action", "reason"]);
        }
        const { rows, totals } = await usageReport(store, {
          accountId: opts.account,
          from: opts.from,
          to: opts.to,
          test: opts.test === true,
        });
        if (opts.json) return printJson({ rows, totals });
        if (opts.csv) {
          const lines = [USAGE_COLUMNS.join(","), ...rows.map((r) => usageCells(r).join(","))];
          process.stdout.write(`${lines.join("\n")}\n`);
          return;
        }
        printTable(rows, [...USAGE_COLUMNS]);
        const gateway = totals.cached + totals.refused > 0 ? `, ${totals.cached} from the cache, ${totals.refused} refused` : "";
        process.stdout.write(`total: ${totals.calls} calls, ${totals.charged} charged, ${totals.amount}${gateway}\n`);
      }),
    );

  const keys = program.command("keys").description("API keys (SecretId/SecretKey pairs)");
  storageOptions(keys.command("create"))
    .description("create a key; the SecretKey is shown in full only here")
    .requiredOption("--account <id>", "the account that owns the key")
    .option("--secret-id <id>", "use this SecretId instead of a random one (a fixed key for CI)")
    .option("--secret-key <key>", "use this SecretKey (with --secret-id)")
    .option(
      "--test",
      "a test key: its calls answer only from the built-in fixtures (the demo table in docs/getting-started.md), are charged to the " +
        "test ledger (usage --test), never to the balance, and never reach operator records",
    )
    .action((opts: DataOption & { account: string; secretId?: string; secretKey?: string; test?: boolean }) =>
      withInstallation(opts, async ({ store }) => {
        const { secretId, secretKey } = opts;
        if ((secretId === undefined) !== (secretKey === undefined)) {
          throw new UsageError("--secret-id and --secret-key go together.");
        }
        if (!(await store.accounts.get(opts.account))) throw new UsageError(`No account ${opts.account}.`);
        const given = secretId && secretKey !== undefined ? { secretId, secretKey } : undefined;
        const key = await store.apiKeys.create(opts.account, given, { test: opts.test === true });
        if (opts.json) printJson(opts.test ? { ...key, test: true } : key);
        else {
          const kind = opts.test ? "Test key: answers from the fixtures only, charged to the test ledger.\n" : "";
          process.stdout.write(
            `${kind}SecretId:  ${key.secretId}\nSecretKey: ${key.secretKey}\nKeep the SecretKey now: it is not shown again.\n`,
          );
        }
      }),
    );
  storageOptions(keys.command("list"))
    .description("list an account's keys (never their secrets)")
    .requiredOption("--account <id>", "account id")
    .action((opts: DataOption & { account: string }) =>
      withInstallation(opts, async ({ store }) => {
        if (!(await store.accounts.get(opts.account))) throw new UsageError(`No account ${opts.account}.`);
        const list = await store.apiKeys.list(opts.account);
        if (opts.json) printJson({ keys: list });
        else printTable(list, ["secretId", "enabled", "test", "createdAt"]);
      }),
    );
  for (const enabled of [false, true]) {
    storageOptions(keys.command(enabled ? "enable" : "disable"))
      .description(
        enabled
          ? "enable a disabled key again; a running server accepts it within 250 ms"
          : "disable a key; calls signed with it fail with AuthFailure.SecretIdNotFound",
      )
      .argument("<secretId>")
      .action((secretId: string, opts: DataOption) =>
        withInstallation(opts, async ({ store }) => {
          const found = await store.apiKeys.setEnabled(secretId, enabled);
          if (!found) throw new UsageError("No such key.");
          if (opts.json) printJson({ secretId, enabled });
          else process.stdout.write(`${enabled ? "Enabled" : "Disabled"} ${secretId}.\n`);
        }),
      );
  }
}
