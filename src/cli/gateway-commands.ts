/** Gateway mode's commands: the upstream (its URL and the company key, sealed at rest, never printed). */
import fs from "node:fs";
import type { Command } from "commander";
import { describeUpstream, saveUpstream, TENCENT_FACEID_URL, UPSTREAM_META, UpstreamInputError } from "../gateway/upstream-settings";
import { type DataOption, storageOptions, withInstallation } from "./options";
import { printJson, UsageError } from "./output";

export function addGatewayCommands(program: Command): void {
  const upstream = program
    .command("upstream")
    .description("gateway mode: answer FaceID calls from an upstream (Tencent Cloud) with the company's key")
    .addHelpText(
      "after",
      "\nWith an upstream set, every FaceID call a team makes with its own key is checked (account state, the team's\n" +
        "limit), signed again with the company key and sent upstream; the answer goes back in its own shape and is\n" +
        "charged to the team when the action's table charges its Result. A running server sees a change within a\n" +
        "second. SANYAO_UPSTREAM_URL overrides the stored URL; SANYAO_UPSTREAM_RATE_LIMIT (20) is the upstream\n" +
        "account's per-action limit, shared among teams; SANYAO_UPSTREAM_TIMEOUT_MS (5000) a call's budget.\n" +
        "A charged answer whose ledger write fails is kept in the journal of paid answers (SANYAO_JOURNAL_DIR, default\n" +
        "journal/ under --data) before it is answered, and written into the store once it takes writes; the same call within\n" +
        "10 minutes is answered from memory, not from the upstream. `sanyao usage --unknown` lists the calls sent and\n" +
        "never answered (no answer in time, a dropped connection, a non-200 status), which the upstream may have charged.",
    );
  storageOptions(upstream.command("set"))
    .description("set the upstream and the company key (sealed with the installation secret; never shown again)")
    .requiredOption("--secret-id <id>", "the company's SecretId")
    .requiredOption("--secret-key <key>", "the company's SecretKey; `-` reads it from stdin (out of the shell history and ps)")
    .option("--url <url>", "the upstream", TENCENT_FACEID_URL)
    .option("--rsa-public-key <key>", "the upstream's RSA public key, base64 of its PEM (default: Tencent's published key)")
    .option("--sm2-public-key <key>", "the upstream's SM2 public key, base64 of its PEM (default: Tencent's published key)")
    .addHelpText(
      "after",
      "\nFields are sent upstream encrypted to these keys wherever the action allows it. For another sanyao as the\n" +
        "upstream, give the keys its `sanyao encryption public-keys --json` prints.",
    )
    .action((opts: DataOption & { secretId: string; secretKey: string; url: string; rsaPublicKey?: string; sm2PublicKey?: string }) =>
      withInstallation(opts, async ({ store, keyring }) => {
        try {
          await saveUpstream(store.meta, keyring, {
            url: opts.url,
            secretId: opts.secretId,
            secretKey: opts.secretKey === "-" ? readKeyFromStdin() : opts.secretKey,
            publicKeys: { rsa: opts.rsaPublicKey, sm2: opts.sm2PublicKey },
          });
        } catch (err) {
          if (err instanceof UpstreamInputError) throw new UsageError(err.message);
          throw err;
        }
        const shown = await describeUpstream(store.meta);
        if (opts.json) printJson({ upstream: shown });
        else process.stdout.write(`Gateway mode: FaceID calls go to ${shown?.url} as ${shown?.secretId}.\n`);
      }),
    );
  storageOptions(upstream.command("show"))
    .description("the upstream's URL and SecretId (never the key)")
    .action((opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        const shown = await describeUpstream(store.meta);
        if (opts.json) printJson({ upstream: shown ?? null });
        else
          process.stdout.write(
            shown ? `${shown.url} as ${shown.secretId}\n` : "No upstream: FaceID calls answer from this installation's records.\n",
          );
      }),
    );
  storageOptions(upstream.command("clear"))
    .description("forget the upstream and its key: FaceID calls answer from this installation's records again")
    .action((opts: DataOption) =>
      withInstallation(opts, async ({ store }) => {
        await store.meta.set(UPSTREAM_META, "");
        if (opts.json) printJson({ upstream: null });
        else process.stdout.write("Upstream cleared.\n");
      }),
    );
}

/** The key as piped in (`printf %s "$KEY" | sanyao upstream set --secret-key - …`), without its line end. */
function readKeyFromStdin(): string {
  const key = fs.readFileSync(0, "utf8").trim();
  if (!key) throw new UsageError("--secret-key -: nothing came on stdin.");
  return key;
}
