/**
 * The test kit's commands, on a running server through its operations API: scenarios (kept in the store, so every
 * instance applies them), the request log and signature diagnoses; and the operations API's tokens.
 */
import type { Command } from "commander";
import { adminTokenPath, createAdminToken, type TokenKind } from "../operations/admin-token";
import type { LoggedCall } from "../operations/request-log";
import { testKitAnswers } from "../operations/routes/test-kit";
import type { SignatureDiagnosis } from "../api3/diagnose";
import { effectText } from "../testkit/scenario";
import { callOperations, type OpsOptions, opsOptions } from "./ops-client";
import { count, type DataOption, storageOptions, withInstallation } from "./options";
import { printJson, printTable, UsageError } from "./output";

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

interface AddOptions extends OpsOptions {
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
        "the next --times N of them, to each with --probability p, until --until. These commands go through the running\n" +
        "server's operations API (--endpoint, --token); the scenarios are kept in the store, so every instance applies\n" +
        "them within a second. Scenarios stay until removed: `sanyao scenarios clear` after a test.",
    );
  opsOptions(scenarios.command("add"))
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
    .action(async (opts: AddOptions) => {
      const { scenario } = await callOperations(opts, "POST", "scenarios", testKitAnswers.scenario, {
        account: opts.account,
        secretId: opts.secretId,
        action: opts.action,
        phone: opts.phone,
        idCard: opts.idcard,
        result: opts.result,
        error: opts.error,
        delayMs: opts.delayMs,
        reset: opts.reset || undefined,
        hang: opts.hang || undefined,
        clockOffsetS: opts.clockOffsetS,
        times: opts.times,
        probability: opts.probability,
        until: opts.until,
        seed: opts.seed,
      });
      if (opts.json) printJson({ scenario });
      else process.stdout.write(`${scenario.id}\n`);
    });
  opsOptions(scenarios.command("list"))
    .description("the scenarios that can still take a call, oldest first, with the uses each has left (a used-up one is done)")
    .option("--account <id>", "one account's only")
    .action(async (opts: OpsOptions & { account?: string }) => {
      const query = opts.account ? `?${new URLSearchParams({ account: opts.account })}` : "";
      const { scenarios: list } = await callOperations(opts, "GET", `scenarios${query}`, testKitAnswers.scenarios);
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
    });
  opsOptions(scenarios.command("remove"))
    .description("remove one scenario")
    .argument("<id>")
    .action(async (id: string, opts: OpsOptions) => {
      const answer = await callOperations(opts, "DELETE", `scenarios/${encodeURIComponent(id)}`, testKitAnswers.removed);
      if (opts.json) printJson(answer);
      else process.stdout.write(`Removed ${id}.\n`);
    });
  opsOptions(scenarios.command("clear"))
    .description("remove every scenario (of one account with --account)")
    .option("--account <id>", "one account's only")
    .action(async (opts: OpsOptions & { account?: string }) => {
      const query = opts.account ? `?${new URLSearchParams({ account: opts.account })}` : "";
      const { removed } = await callOperations(opts, "DELETE", `scenarios${query}`, testKitAnswers.removed);
      if (opts.json) printJson({ removed });
      else process.stdout.write(`Removed ${removed} scenario${removed === 1 ? "" : "s"}.\n`);
    });

  opsOptions(program.command("requests"))
    .description("the last calls a running server answered: names, VerifyMode, encrypted fields, outcome (never a value)")
    .option("--limit <n>", "how many (at most 1000)", count(1), 20)
    .option("--account <id>", "one account's only")
    .action(async (opts: OpsOptions & { limit: number; account?: string }) => {
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.account) query.set("account", opts.account);
      const { requests } = await callOperations(opts, "GET", `requests?${query}`, testKitAnswers.requests);
      if (opts.json) return printJson({ requests });
      process.stdout.write(requests.length ? `${requests.map(printCall).join("\n")}\n` : "(none)\n");
    });

  opsOptions(program.command("explain"))
    .description("why a running server refused a call's signature: what it computed and the likely cause")
    .argument("<requestId>", "the RequestId of a call answered AuthFailure.* (one of the last 1000)")
    .action(async (requestId: string, opts: OpsOptions) => {
      const { diagnosis } = await callOperations(opts, "GET", `explain/${encodeURIComponent(requestId)}`, testKitAnswers.diagnosis);
      if (opts.json) printJson({ diagnosis });
      else printDiagnosis(diagnosis);
    });

  storageOptions(program.command("admin-token").description("the operations API's tokens").command("create"))
    .description(
      "make a token of an embedded installation that has none and print it once: the operator token (first start makes " +
        "one), or with --read-only a token that sees everything and changes nothing",
    )
    .option("--read-only", "the read-only token: every GET of the operations API, and nothing that changes anything")
    .action((opts: DataOption & { readOnly?: boolean }) =>
      withInstallation(opts, async ({ dataDir }) => {
        const kind: TokenKind = opts.readOnly ? "read-only" : "operator";
        const variable = opts.readOnly ? "SANYAO_READ_ONLY_TOKEN" : "SANYAO_ADMIN_TOKEN";
        if (!dataDir) throw new UsageError(`Scale-out instances take this token from ${variable}.`);
        let token: string;
        try {
          token = createAdminToken(dataDir, kind);
        } catch (err) {
          if (err instanceof Error && "code" in err && err.code === "EEXIST")
            throw new UsageError(`${adminTokenPath(dataDir, kind)} exists already; a token is never overwritten.`);
          throw err;
        }
        const file = adminTokenPath(dataDir, kind);
        if (opts.json) printJson({ [opts.readOnly ? "readOnlyToken" : "adminToken"]: token, file });
        else process.stdout.write(`${token}\nKept in ${file} (mode 0600); a running server reads it at its next start.\n`);
      }),
    );
}
