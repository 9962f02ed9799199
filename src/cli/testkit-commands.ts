/**
 * The test kit's commands: scenarios (straight to the store, seen by a running server within a second), and the
 * request log and signature diagnoses of a running server (through its operations API), and the operator token.
 */
import { type Command, Option } from "commander";
import { loadConfig } from "../app/config";
import { adminTokenPath, createAdminToken, readAdminToken } from "../operations/admin-token";
import type { LoggedCall } from "../operations/request-log";
import type { SignatureDiagnosis } from "../api3/diagnose";
import { effectText, ScenarioInputError, shownScenario } from "../testkit/scenario";
import { addScenario, listScenarios } from "../testkit/scenario-store";
import { count, type DataOption, endpoint, notListening, storageOptions, withInstallation } from "./options";
import { printJson, printTable, UsageError } from "./output";

interface OpsOptions extends DataOption {
  endpoint?: string;
  token?: string;
}

/** --endpoint and --token: where the running server's operations API is, and its operator token (else the data directory's). */
function opsOptions(command: Command): Command {
  return storageOptions(command)
    .addOption(
      new Option(
        "--endpoint <url>",
        "the running server's operations API (host:port means http://host:port); default: the operations listener of " +
          "SANYAO_OPS_PORT (and SANYAO_OPS_HOST), else SANYAO_ENDPOINT, else http://127.0.0.1:8080",
      ).argParser(endpoint),
    )
    .addOption(new Option("--token <token>", "the operator token (default: SANYAO_ADMIN_TOKEN, else --data's admin-token file)"));
}

/**
 * Where the operations API answers: --endpoint; else the operations listener the server's own settings name
 * (SANYAO_OPS_PORT, on SANYAO_OPS_HOST — any address reached on this machine); else the API's endpoint.
 */
function opsEndpoint(opts: OpsOptions): string {
  if (opts.endpoint) return opts.endpoint;
  const port = process.env.SANYAO_OPS_PORT;
  if (port && /^\d{1,5}$/.test(port) && Number(port) > 0) {
    const host = process.env.SANYAO_OPS_HOST || "127.0.0.1";
    const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
    return `http://${reachable}:${port}`;
  }
  return endpoint(process.env.SANYAO_ENDPOINT || "http://127.0.0.1:8080");
}

function tokenFor(opts: OpsOptions): string {
  const token = opts.token ?? process.env.SANYAO_ADMIN_TOKEN ?? readAdminToken(loadConfig({ dataDir: opts.data }).dataDir);
  if (!token) {
    throw new UsageError(
      "No operator token: give --token, set SANYAO_ADMIN_TOKEN, or point --data at the installation (its admin-token file).",
    );
  }
  return token;
}

async function operations<T>(opts: OpsOptions, path: string): Promise<T> {
  const base = opsEndpoint(opts);
  const url = `${base.replace(/\/+$/, "")}/_sanyao/${path}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${tokenFor(opts)}` } });
  } catch {
    throw new UsageError(notListening(base));
  }
  const body = (await res.json().catch(() => ({}))) as { error?: string } & T;
  if (!res.ok) throw new UsageError(body.error ?? `The operations API answered HTTP ${res.status}.`);
  return body;
}

function printCall(c: LoggedCall): string {
  const facts = [
    c.verifyMode !== undefined && `VerifyMode ${c.verifyMode}`,
    c.encrypted && `encrypted ${c.encrypted.join(",")}`,
    c.scenario && `scenario ${c.scenario}`,
    c.test && "test key",
  ].filter(Boolean);
  return `${c.at}  ${c.requestId}  ${c.action ?? "-"}  ${c.result !== undefined ? `Result ${c.result}` : (c.error ?? "OK")}  ${
    c.signatureMethod ?? "-"
  }  ${c.secretId ?? "-"}  params: ${c.params.join(",") || "-"}${facts.length ? `  (${facts.join("; ")})` : ""}`;
}

function printDiagnosis(d: SignatureDiagnosis): void {
  const lines = [
    `${d.requestId}: ${d.code} (${d.signatureMethod})`,
    "",
    "Likely cause:",
    ...d.likelyCauses.map((c) => `  - ${c}`),
    "",
    `Server time:      ${d.clock.serverTime}`,
    d.clock.requestTimestamp !== undefined
      ? `Request time:     ${new Date(d.clock.requestTimestamp * 1000).toISOString()} (${(d.clock.offsetSeconds ?? 0) >= 0 ? "+" : ""}${d.clock.offsetSeconds} s; window ±${d.clock.windowSeconds} s)`
      : "",
    d.secretId ? `SecretId:         ${d.secretId}` : "",
    d.receivedScope ? `Scope received:   ${d.receivedScope}` : "",
    d.expectedScope ? `Scope expected:   ${d.expectedScope}` : "",
    d.signedHeaders ? `SignedHeaders:    ${d.signedHeaders.join(";")}` : "",
    d.hostsTried.length ? `Hosts tried:      ${d.hostsTried.join(", ")}` : "",
    d.canonicalRequest ? `\nCanonical request (values replaced by keyed hashes):\n${d.canonicalRequest}` : "",
    d.stringToSign ? `\nString to sign (values replaced by keyed hashes):\n${d.stringToSign}` : "",
  ];
  process.stdout.write(`${lines.filter((l) => l !== "").join("\n")}\n`);
}

interface AddOptions extends DataOption {
  account: string;
  secretId?: string;
  action?: string;
  phone?: string;
  idcard?: string;
  result?: string;
  error?: string;
  delayMs?: string;
  reset?: boolean;
  hang?: boolean;
  clockOffsetS?: string;
  times?: number;
  probability?: string;
  until?: string;
  seed?: number;
}

export function addTestKitCommands(program: Command): void {
  const scenarios = program
    .command("scenarios")
    .description("make calls fail, slow down or answer a given Result on purpose (the test kit)")
    .addHelpText(
      "after",
      "\nA scenario takes the calls of one account that match it (and --secret-id, --action, --phone, --idcard when\n" +
        "given; phones and identity numbers are kept as keyed hashes and match plaintext fields only). It applies to\n" +
        "the next --times N of them, to each with --probability p, until --until; a running server sees a change\n" +
        "within a second, on every instance. Scenarios stay until removed: `sanyao scenarios clear` after a test.",
    );
  storageOptions(scenarios.command("add"))
    .description("add a scenario; prints its id")
    .requiredOption("--account <id>", "the account whose calls it takes")
    .option("--secret-id <id>", "only calls signed with this key")
    .option("--action <name>", "only this action (required with --result)")
    .option("--phone <number>", "only calls about this mobile number (Phone or Mobile, sent in plaintext)")
    .option("--idcard <number>", "only calls about this identity number (sent in plaintext)")
    .option("--result <code>", "answer this Result of the action's table, charged as the table says")
    .option("--error <code>", "answer this API error, such as InternalError or RequestLimitExceeded, in the real envelope")
    .option("--delay-ms <n[-m]>", "answer normally after N ms, or after a random time from N to M ms")
    .option("--reset", "reset the connection (the client sees ECONNRESET)")
    .option("--hang", "never answer (the client's own timeout ends the call)")
    .option(
      "--clock-offset-s <n>",
      "move the clock of matching calls N seconds (negative: back), for the signature's window and the daily caps' day",
    )
    .option("--times <n>", "the next N matching calls only", count(1))
    .option("--probability <p>", "take each matching call with probability p (0 < p ≤ 1)")
    .option("--until <time>", "until this time, such as 2026-12-02T12:00:00Z (server clock)")
    .option("--seed <n>", "a fixed sequence of probability draws, for a repeatable test", count(0))
    .action((opts: AddOptions) =>
      withInstallation(opts, async ({ store, keyring }) => {
        try {
          const scenario = await addScenario(
            { rows: store.scenarios, accounts: store.accounts, keyring },
            {
              account: opts.account,
              secretId: opts.secretId,
              action: opts.action,
              phone: opts.phone,
              idCard: opts.idcard,
              result: opts.result,
              error: opts.error,
              delayMs: opts.delayMs,
              reset: opts.reset,
              hang: opts.hang,
              clockOffsetS: opts.clockOffsetS,
              times: opts.times,
              probability: opts.probability,
              until: opts.until,
              seed: opts.seed,
            },
          );
          if (opts.json) printJson({ scenario: shownScenario(scenario) });
          else process.stdout.write(`${scenario.id}\n`);
        } catch (err) {
          if (err instanceof ScenarioInputError) throw new UsageError(err.message);
          throw err;
        }
      }),
    );
  storageOptions(scenarios.command("list"))
    .description("the scenarios that can still take a call, oldest first, with the uses each has left (a used-up one is done)")
    .option("--account <id>", "one account's only")
    .action((opts: DataOption & { account?: string }) =>
      withInstallation(opts, async ({ store }) => {
        const list = (await listScenarios(store.scenarios, opts.account)).map(shownScenario);
        if (opts.json) return printJson({ scenarios: list });
        printTable(
          list.map((s) => ({
            id: s.id,
            accountId: s.accountId,
            matches: [s.secretId, s.action, s.phoneMasked, s.idCardMasked].filter(Boolean).join(" ") || "(all calls)",
            effect: effectText(s.effect),
            left: s.remaining ?? "∞",
            probability: s.probability,
            until: s.until ?? "",
          })),
          ["id", "accountId", "matches", "effect", "left", "probability", "until"],
        );
      }),
    );
  storageOptions(scenarios.command("remove"))
    .description("remove one scenario")
    .argument("<id>")
    .action((id: string, opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        if (!(await store.scenarios.remove(id))) throw new UsageError(`No scenario ${id}.`);
        if (opts.json) printJson({ removed: 1 });
        else process.stdout.write(`Removed ${id}.\n`);
      }),
    );
  storageOptions(scenarios.command("clear"))
    .description("remove every scenario (of one account with --account)")
    .option("--account <id>", "one account's only")
    .action((opts: DataOption & { account?: string }) =>
      withInstallation(opts, async ({ store }) => {
        const removed = await store.scenarios.clear(opts.account);
        if (opts.json) printJson({ removed });
        else process.stdout.write(`Removed ${removed} scenario${removed === 1 ? "" : "s"}.\n`);
      }),
    );

  opsOptions(program.command("requests"))
    .description("the last calls a running server answered: names, VerifyMode, encrypted fields, outcome (never a value)")
    .option("--limit <n>", "how many (at most 1000)", count(1), 20)
    .option("--account <id>", "one account's only")
    .action(async (opts: OpsOptions & { limit: number; account?: string }) => {
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.account) query.set("account", opts.account);
      const { requests } = await operations<{ requests: LoggedCall[] }>(opts, `requests?${query}`);
      if (opts.json) return printJson({ requests });
      process.stdout.write(requests.length ? `${requests.map(printCall).join("\n")}\n` : "(none)\n");
    });

  opsOptions(program.command("explain"))
    .description("why a running server refused a call's signature: what it computed and the likely cause")
    .argument("<requestId>", "the RequestId of a call answered AuthFailure.* (one of the last 1000)")
    .action(async (requestId: string, opts: OpsOptions) => {
      const { diagnosis } = await operations<{ diagnosis: SignatureDiagnosis }>(opts, `explain/${encodeURIComponent(requestId)}`);
      if (opts.json) printJson({ diagnosis });
      else printDiagnosis(diagnosis);
    });

  storageOptions(program.command("admin-token").description("the operations API's operator token").command("create"))
    .description("make the operator token of an embedded installation that has none (first start makes one); prints it once")
    .action((opts: DataOption) =>
      withInstallation(opts, async ({ dataDir }) => {
        if (!dataDir) throw new UsageError("Scale-out instances take their operator token from SANYAO_ADMIN_TOKEN.");
        let token: string;
        try {
          token = createAdminToken(dataDir);
        } catch (err) {
          if (err instanceof Error && "code" in err && err.code === "EEXIST")
            throw new UsageError(`${adminTokenPath(dataDir)} exists already; a token is never overwritten.`);
          throw err;
        }
        if (opts.json) printJson({ adminToken: token, file: adminTokenPath(dataDir) });
        else
          process.stdout.write(`${token}\nKept in ${adminTokenPath(dataDir)} (mode 0600); a running server reads it at its next start.\n`);
      }),
    );
}
