/** Commands that put data into an installation: KMS keys and subscriber records. */
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { ApiError } from "../api3/errors";
import { KeyService } from "../kms/keys";
import { chinaDate } from "../rules/precheck";
import { loadRuleTables } from "../rules/tables";
import { CsvFileError } from "../sources/csv";
import { FileChangedError } from "../sources/held-file";
import { importRecordsFile, type ImportSummary } from "../sources/import";
import type { KmsKey } from "../store/model";
import { configFor, readableFile, storageOptions, withInstallation, type DataOption } from "./options";
import { printJson, printTable, UsageError } from "./output";

/** `records import` exits with this when it rejected rows: distinct from 1 (a failure) and 2 (nothing imported). */
const REJECTED_ROWS_EXIT = 3;

export function addDataCommands(program: Command): void {
  const encryption = program.command("encryption").description("the public-key field encryption (RSA for AES-256-CBC, SM2 for SM4-GCM)");
  storageOptions(encryption.command("public-keys"))
    .description("the installation's public keys, in the form Tencent's encryption helpers embed theirs")
    .addHelpText(
      "after",
      "\nEach key is base64 of its PEM text: RSA as PKCS#1 (BEGIN RSA PUBLIC KEY), SM2 as SPKI with the SM2 curve\n" +
        "(BEGIN PUBLIC KEY). Put one in place of Tencent's constant in the helper, or pass it to encryptRequestFields.\n" +
        "The pairs are made at the first start of `sanyao serve` (or here, if no server has started yet) and kept\n" +
        "sealed with the installation secret; every instance of a scale-out installation uses the same pairs.\n" +
        '--json prints {"rsa": "<base64 of the PEM>", "sm2": "<base64 of the PEM>"}.',
    )
    .action((opts: DataOption) =>
      withInstallation(opts, async (inst) => {
        const keys = (await inst.envelopeKeys()).publicKeys();
        if (opts.json) return printJson(keys);
        process.stdout.write(`rsa (AES-256-CBC): ${keys.rsa}\nsm2 (SM4-GCM):     ${keys.sm2}\n`);
      }),
    );

  const kms = program.command("kms").description("the built-in KMS (service kms, 2019-01-18)");
  storageOptions(kms.command("create-key"))
    .description("create a KMS key (CMK) for an account, as the KMS CreateKey action would")
    .requiredOption("--account <id>", "the account that owns the key")
    .option("--alias <alias>", "1-60 letters, digits, '-' or '_', unique per account and region (default: a generated one)")
    .option("--region <region>", "the key's region", "ap-guangzhou")
    .option("--description <text>", "free text")
    .action((opts: DataOption & { account: string; alias?: string; region: string; description?: string }) =>
      withInstallation(opts, async ({ store }) => {
        if (!(await store.accounts.get(opts.account))) throw new UsageError(`No account ${opts.account}.`);
        const config = configFor(opts);
        if (!config.kmsRegions.has(opts.region)) throw new UsageError(`The region ${opts.region} is not served (SANYAO_KMS_REGIONS).`);
        const alias = opts.alias ?? `sanyao-${Date.now().toString(36)}`;
        let key: KmsKey;
        try {
          key = await new KeyService(store.kmsKeys, Date.now).createKey(opts.account, opts.region, {
            alias,
            description: opts.description,
          });
        } catch (err) {
          if (err instanceof ApiError) throw new UsageError(`${err.code}: ${err.messageIn("en-US")}`);
          throw err;
        }
        if (opts.json) printJson({ keyId: key.keyId, alias: key.alias, region: key.region, accountId: key.accountId });
        else process.stdout.write(`KeyId: ${key.keyId} (alias ${key.alias}, ${key.region})\n`);
      }),
    );

  storageOptions(kms.command("list-keys"))
    .description("list an account's KMS keys in a region (never their material)")
    .requiredOption("--account <id>", "the account that owns the keys")
    .option("--region <region>", "the keys' region", "ap-guangzhou")
    .action((opts: DataOption & { account: string; region: string }) =>
      withInstallation(opts, async ({ store }) => {
        if (!(await store.accounts.get(opts.account))) throw new UsageError(`No account ${opts.account}.`);
        const { keyIds } = await store.kmsKeys.list(opts.account, opts.region, 0, 1_000_000);
        const keys = [];
        for (const keyId of keyIds) {
          const k = await store.kmsKeys.get(opts.account, keyId, opts.region);
          if (k)
            keys.push({
              keyId: k.keyId,
              alias: k.alias,
              region: k.region,
              state: k.state,
              description: k.description,
              createdAt: new Date(k.createdAt * 1000).toISOString(),
            });
        }
        if (opts.json) printJson({ keys });
        else printTable(keys, ["keyId", "alias", "state", "createdAt"]);
      }),
    );

  const records = program.command("records").description("subscriber records the service verifies against");
  storageOptions(records.command("import"))
    .description(
      "import records from CSV (header phone,name,idcard[,isp][,status][,line_status][,network_since]) or NDJSON; a number imported again is replaced",
    )
    .argument("<file>")
    .addHelpText(
      "after",
      "\nNumbers, names and identity numbers are stored as keyed hashes only. isp: mobile, telecom, cucc, broadnet or empty (the segment's\n" +
        "carrier). status: active (default), suspended (always -4 OtherMismatch) or busy (always -11).\n" +
        "line_status (MobileStatus): normal, suspended, cancelled, not-on-network, unusable or empty (normal).\n" +
        "network_since (MobileNetworkTimeVerification): the day the number joined the network, YYYY-MM-DD.\n" +
        "Rejected rows are listed by line number and reason, in line order, never by value.\n" +
        "Exit codes: 0 every row imported; 3 some rows rejected, and listed (the others are imported); 2 a usage error\n" +
        "or a file that cannot be read as rows (nothing imported); 1 another failure, such as a header without phone.",
    )
    .action((file: string, opts: DataOption) =>
      withInstallation(opts, async ({ store, keyring }) => {
        const total = readableFile(file).size;
        const bar =
          process.stderr.isTTY && !opts.json
            ? new cliProgress.SingleBar(
                {
                  stream: process.stderr,
                  format: "importing [{bar}] {percentage}% | {eta_formatted} left",
                  etaBuffer: 50,
                  clearOnComplete: true,
                },
                cliProgress.Presets.shades_classic,
              )
            : undefined;
        bar?.start(total, 0);
        const config = configFor(opts);
        let summary: ImportSummary;
        try {
          summary = await importRecordsFile(file, store.records, keyring, {
            tables: loadRuleTables(),
            policy: config.policy,
            todayChina: chinaDate(Date.now()),
            onProgress: (bytes) => bar?.update(bytes),
          });
        } catch (err) {
          if (err instanceof CsvFileError) throw new UsageError(`${file}: ${err.message}. Nothing was imported.`);
          if (err instanceof FileChangedError) throw new Error(`${file}: ${err.message}`);
          throw err;
        } finally {
          bar?.stop();
        }
        // a script must not take an import that left rows out for a whole one (the other rows were imported)
        if (summary.rejected > 0) process.exitCode = REJECTED_ROWS_EXIT;
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
}
