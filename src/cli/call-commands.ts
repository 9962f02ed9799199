/** Commands that call the API as a client would: verify one person, or a whole CSV file. */
import { type Command, Option } from "commander";
import { ClientNetworkError, TencentCloudError } from "../client/errors";
import {
  type CarrierVerificationRequest,
  type EncryptedPhoneVerificationRequest,
  FaceIdClient,
  hashInputs,
  type IdCardVerificationRequest,
  type NumberRequest,
  type PhoneAndNameRequest,
  type PhoneVerificationRequest,
} from "../client/faceid";
import { CARRIER_ACTIONS } from "../faceid/carrier-verification";
import { checkIdCard } from "../rules/idcard";
import { checkName } from "../rules/name";
import { classifyPhone } from "../rules/phone";
import { defaultPolicy } from "../rules/policy";
import { chinaDate } from "../rules/precheck";
import { loadRuleTables } from "../rules/tables";
import { encryptRequestFields, type EncryptableField } from "../client/field-encryption";
import { KmsClient } from "../client/kms";
import { runBatch, type BatchSummary } from "./batch";
import {
  clientOptions,
  configFor,
  count,
  credentialsFor,
  DEFAULT_ENDPOINT,
  notListening,
  storageOptions,
  withInstallation,
  type DataOption,
  type Language,
} from "./options";
import { printJson, UsageError } from "./output";

type Element = "phone" | "name" | "idcard";
type Inputs = Partial<Record<Element, string>>;
type Params = Record<string, unknown>;

interface ActionEntry {
  needs: readonly Element[];
  /** the request's fields, named as the action names them */
  params(i: Required<Inputs>): Record<string, string>;
  /** the fields --encrypt encrypts by default, all of those the action lets a caller encrypt */
  encryptable: readonly EncryptableField[];
  call(c: FaceIdClient, params: Params): Promise<unknown>;
}

const threeFields = (i: Required<Inputs>) => ({ Phone: i.phone, Name: i.name, IdCard: i.idcard });
const THREE: readonly EncryptableField[] = ["IdCard", "Name", "Phone"];

/** What each action takes from --phone/--mobile, --name and --idcard, and how the typed client calls it. */
const ACTIONS: Record<string, ActionEntry> = {
  PhoneVerification: {
    needs: ["phone", "name", "idcard"],
    params: threeFields,
    encryptable: THREE,
    call: (c, p) => c.phoneVerification(p as unknown as PhoneVerificationRequest),
  },
  ...Object.fromEntries(
    CARRIER_ACTIONS.map(({ action }): [string, ActionEntry] => [
      action,
      {
        needs: ["phone", "name", "idcard"],
        params: threeFields,
        encryptable: THREE,
        call: (c, p) => c.carrierVerification(action, p as unknown as CarrierVerificationRequest),
      },
    ]),
  ),
  EncryptedPhoneVerification: {
    needs: ["phone", "name", "idcard"],
    params: threeFields,
    encryptable: [],
    call: (c, p) => c.encryptedPhoneVerification(p as unknown as EncryptedPhoneVerificationRequest),
  },
  CheckPhoneAndName: {
    needs: ["phone", "name"],
    params: (i) => ({ Mobile: i.phone, Name: i.name }),
    encryptable: ["Mobile", "Name"],
    call: (c, p) => c.checkPhoneAndName(p as unknown as PhoneAndNameRequest),
  },
  IdCardVerification: {
    needs: ["idcard", "name"],
    params: (i) => ({ IdCard: i.idcard, Name: i.name }),
    encryptable: ["IdCard", "Name"],
    call: (c, p) => c.idCardVerification(p as unknown as IdCardVerificationRequest),
  },
  MobileStatus: {
    needs: ["phone"],
    params: (i) => ({ Mobile: i.phone }),
    encryptable: ["Mobile"],
    call: (c, p) => c.mobileStatus(p as unknown as NumberRequest),
  },
  MobileNetworkTimeVerification: {
    needs: ["phone"],
    params: (i) => ({ Mobile: i.phone }),
    encryptable: ["Mobile"],
    call: (c, p) => c.mobileNetworkTimeVerification(p as unknown as NumberRequest),
  },
};

/** The inputs the action needs, all given; a UsageError names the first one missing. */
function inputsFor(action: string, entry: ActionEntry, given: Inputs): Required<Inputs> {
  const flag: Record<Element, string> = { phone: "--phone (or --mobile)", name: "--name", idcard: "--idcard" };
  for (const element of entry.needs) {
    if (given[element] === undefined) throw new UsageError(`${action} needs ${flag[element]}.`);
  }
  return { phone: given.phone ?? "", name: given.name ?? "", idcard: given.idcard ?? "" };
}

/** The values as the service normalises them before hashing (faceid-family.md §7.3); a malformed one as given. */
function normalisedForHashing(i: Required<Inputs>): { Phone: string; Name: string; IdCard: string } {
  const tables = loadRuleTables();
  const phone = classifyPhone(i.phone, tables.segments, defaultPolicy);
  const name = checkName(i.name, defaultPolicy);
  const id = checkIdCard(i.idcard, chinaDate(Date.now()), tables.regionPrefixes, defaultPolicy);
  return {
    Phone: phone.kind === "invalid" ? i.phone : phone.national,
    Name: name.kind === "invalid" ? i.name : name.normalized,
    IdCard: id.kind === "invalid" ? i.idcard : id.id18,
  };
}

type EncryptScheme = "kms" | "rsa" | "sm2";
const SCHEMES: readonly EncryptScheme[] = ["kms", "rsa", "sm2"];

export function addCallCommands(program: Command): void {
  clientOptions(storageOptions(program.command("verify")))
    .description("make one signed FaceID call (PhoneVerification unless --action says otherwise) and print the Response object")
    .addOption(new Option("--action <name>", "the FaceID action to call").choices(Object.keys(ACTIONS)).default("PhoneVerification"))
    .option("--phone <phone>", "mobile number (Phone, or Mobile for the actions that call it so)")
    .option("--mobile <phone>", "the same as --phone")
    .option("--name <name>", "name")
    .option("--idcard <id>", "identity number")
    .option("--detailed", "VerifyMode 1: say what did not match on -4 (PhoneVerification)")
    .addOption(
      new Option("--hash-mode <mode>", "EncryptedPhoneVerification's EncryptionMode: 0 plaintext, 1 MD5, 2 SHA-256, 3 SM3 (hashed here)")
        .choices(["0", "1", "2", "3"])
        .default("0"),
    )
    .option(
      "--encrypt [scheme]",
      "encrypt the fields: kms (the default; a data key from KMS, needs --kms-key, PhoneVerification only), " +
        "rsa (AES-256-CBC) or sm2 (SM4-GCM) with the installation's public key (--public-key, else read from --data)",
    )
    .option("--public-key <base64>", "the public key for --encrypt rsa|sm2, as `sanyao encryption public-keys` prints it")
    .option("--kms-key <keyId>", "the KMS key for --encrypt kms")
    .option("--kms-region <region>", "the KMS key's region", "ap-guangzhou")
    .option("--encrypt-fields <list>", "which fields --encrypt encrypts (default: all the action allows)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  sanyao verify --phone 13800001234 --name 张三 --idcard 110105199003072143\n" +
        "  sanyao verify --action MobileStatus --mobile 13800001234 --encrypt sm2\n" +
        "  sanyao verify --action EncryptedPhoneVerification --hash-mode 2 --phone 13800001234 --name 张三 --idcard 110105199003072143",
    )
    .action(
      async (
        opts: DataOption & {
          action: string;
          phone?: string;
          mobile?: string;
          name?: string;
          idcard?: string;
          detailed?: boolean;
          hashMode: "0" | "1" | "2" | "3";
          endpoint: string;
          language?: Language;
          secretId?: string;
          secretKey?: string;
          encrypt?: boolean | string;
          publicKey?: string;
          kmsKey?: string;
          kmsRegion: string;
          encryptFields?: string;
        },
      ) => {
        const entry = ACTIONS[opts.action];
        // commander checked the choice already; this keeps the lookup honest for the type checker
        if (!entry) throw new UsageError(`No action ${opts.action}.`);
        const scheme: EncryptScheme | undefined =
          opts.encrypt === undefined ? undefined : opts.encrypt === true ? "kms" : (opts.encrypt as EncryptScheme);
        if (scheme !== undefined && !SCHEMES.includes(scheme)) throw new UsageError("--encrypt takes kms, rsa or sm2.");
        const inputs = inputsFor(opts.action, entry, { phone: opts.phone ?? opts.mobile, name: opts.name, idcard: opts.idcard });
        if (opts.detailed && opts.action !== "PhoneVerification") throw new UsageError("--detailed goes with PhoneVerification only.");
        if (opts.hashMode !== "0" && opts.action !== "EncryptedPhoneVerification") {
          throw new UsageError("--hash-mode goes with --action EncryptedPhoneVerification only.");
        }
        if (scheme && entry.encryptable.length === 0)
          throw new UsageError(`${opts.action} has no encrypted fields; its inputs are hashed (--hash-mode).`);
        if (scheme === "kms" && opts.action !== "PhoneVerification") {
          throw new UsageError("--encrypt kms goes with PhoneVerification only; the other actions take --encrypt rsa or sm2.");
        }
        const { kmsKey } = opts;
        if (scheme === "kms" && !kmsKey) throw new UsageError("--encrypt kms needs --kms-key KEY_ID (sanyao kms create-key).");
        const fields = (opts.encryptFields
          ?.split(",")
          .map((f) => f.trim())
          .filter(Boolean) ?? entry.encryptable) as EncryptableField[];
        if (fields.some((f) => !entry.encryptable.includes(f))) {
          throw new UsageError(`--encrypt-fields lists ${entry.encryptable.join(", ")} for ${opts.action}.`);
        }
        const credentials = await credentialsFor(opts);
        const connection = {
          credential: { secretId: credentials.secretId, secretKey: credentials.secretKey },
          endpoint: opts.endpoint,
          language: opts.language,
        };
        let params: Params = entry.params(inputs);
        if (opts.detailed) params.VerifyMode = "1";
        if (opts.action === "EncryptedPhoneVerification") {
          params =
            opts.hashMode === "0" ? { ...params, EncryptionMode: "0" } : { ...hashInputs(opts.hashMode, normalisedForHashing(inputs)) };
        }
        if (scheme === "rsa" || scheme === "sm2") {
          const publicKey =
            opts.publicKey ?? (await withInstallation(opts, async (inst) => (await inst.envelopeKeys()).publicKeys()))[scheme];
          const algorithm = scheme === "rsa" ? "AES-256-CBC" : "SM4-GCM";
          if (opts.action === "PhoneVerification" && scheme === "sm2")
            throw new UsageError("PhoneVerification takes --encrypt rsa or kms (its fields have no Algorithm).");
          const form = opts.action === "PhoneVerification" ? "flat" : "object";
          params = encryptRequestFields(params, { algorithm, publicKey, form }, fields);
        }
        try {
          if (scheme === "kms" && kmsKey) {
            const kms = new KmsClient({ ...connection, region: opts.kmsRegion });
            params = encryptRequestFields(params, await kms.dataKey(kmsKey), fields);
            kms.close();
          }
          const faceid = new FaceIdClient(connection);
          printJson(await entry.call(faceid, params));
          faceid.close();
        } catch (err) {
          if (err instanceof ClientNetworkError && !err.maybeServed) throw new Error(notListening(opts.endpoint));
          if (!(err instanceof TencentCloudError)) throw err;
          printJson({ Error: { Code: err.code, Message: err.message }, RequestId: err.requestId });
          if (err.code.startsWith("AuthFailure.")) process.stderr.write(explainHint(err.requestId, opts));
          process.exitCode = 1;
        }
      },
    );

  clientOptions(storageOptions(program.command("batch")))
    .description("verify every row of a CSV file at the allowed pace; rerun with the same --out to resume")
    .argument("<in.csv>", "a CSV file with a header row")
    .option("--out <out.csv>", "where to write one row per input row (progress is journaled beside it, in <out.csv>.journal)")
    .option("--phone-column <name>", "the phone column", "phone")
    .option("--name-column <name>", "the name column", "name")
    .option("--idcard-column <name>", "the identity number column", "idcard")
    .option("--detailed", "VerifyMode 1: ResultDetail on -4")
    .option("--encrypt", "encrypt the fields with a data key from KMS (needs --kms-key)")
    .option("--kms-key <keyId>", "the KMS key for --encrypt")
    .option("--kms-region <region>", "the KMS key's region", "ap-guangzhou")
    .option(
      "--rate <n>",
      "requests per second at most (the service allows 20); lowered to the account's limit when --data holds the key",
      count(1),
      20,
    )
    .option("--concurrency <n>", "requests in flight at most", count(1), 4)
    .option("--dry-run", "check every row with the local rules; send nothing")
    .option("--resend-interrupted", "send again the rows a killed run had sent without an answer (they may be charged twice)")
    .addHelpText(
      "after",
      "\nOutput columns: the input's, then result, description, isp, result_detail, request_id, charged, error_code.\n" +
        "A row is never sent twice: answered rows are skipped on a rerun; rows in flight when a run was killed are\n" +
        "written as Interrupted (their answer is unknown) unless --resend-interrupted. Rows that got an error (never\n" +
        "charged) are sent again. Malformed rows are reported by line number and skipped. Rows are matched by their\n" +
        "content, not their line: an input edited between runs resumes every row still in it, sends the new or\n" +
        "changed ones, and says what changed.",
    )
    .action(
      async (
        input: string,
        opts: DataOption & {
          out?: string;
          phoneColumn: string;
          nameColumn: string;
          idcardColumn: string;
          detailed?: boolean;
          encrypt?: boolean;
          kmsKey?: string;
          kmsRegion: string;
          rate: number;
          concurrency: number;
          dryRun?: boolean;
          resendInterrupted?: boolean;
          endpoint: string;
          language?: Language;
          secretId?: string;
          secretKey?: string;
        },
      ) => {
        const { kmsKey } = opts;
        if (opts.encrypt && !kmsKey) throw new UsageError("--encrypt needs --kms-key KEY_ID.");
        const credential = opts.dryRun ? { secretId: "", secretKey: "" } : await credentialsFor(opts);
        const summary = await runBatch({
          input,
          out: opts.out,
          columns: { phone: opts.phoneColumn, name: opts.nameColumn, idcard: opts.idcardColumn },
          credential,
          accountLimit: opts.dryRun ? undefined : await phoneVerificationLimit(opts, credential),
          endpoint: opts.endpoint,
          language: opts.language,
          detailed: Boolean(opts.detailed),
          encrypt: opts.encrypt && kmsKey ? { keyId: kmsKey, region: opts.kmsRegion, fields: ["IdCard", "Name", "Phone"] } : undefined,
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
        else if (!summary.dryRun && summary.rows > 0 && summary.answered === 0) {
          process.stderr.write("sanyao batch: no row got an answer.\n");
          process.exitCode = 1;
        }
      },
    );
}

/** Where to read why a call was refused: the server kept what it computed, under the RequestId it answered. */
function explainHint(requestId: string, opts: DataOption & { endpoint: string }): string {
  const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
  const args = ["sanyao", "explain", requestId];
  // explain finds the operations listener of SANYAO_OPS_PORT by itself, else it needs the endpoint called here
  if (!process.env.SANYAO_OPS_PORT && opts.endpoint !== DEFAULT_ENDPOINT) args.push("--endpoint", opts.endpoint);
  // the operator token is in the data directory's admin-token file unless SANYAO_ADMIN_TOKEN gives it
  if (!process.env.SANYAO_ADMIN_TOKEN && !opts.databaseUrl && opts.data && opts.data !== "./data") args.push("--data", opts.data);
  return `sanyao verify: the server refused this call's signature or key; why, and the likely cause: \`${args.map(shellWord).join(" ")}\`\n`;
}

/**
 * The per-second limit of PhoneVerification for the key's account, read from the installation of --data (or
 * --database-url) when it holds the key; undefined when it is out of reach from here (a server elsewhere).
 */
async function phoneVerificationLimit(
  opts: DataOption,
  credential: { secretId: string; secretKey: string },
): Promise<{ accountId: string; perSecond: number } | undefined> {
  try {
    return await withInstallation(opts, async ({ store }) => {
      const key = await store.apiKeys.resolve(credential.secretId);
      // another installation that happens to hold a key of that SecretId says nothing of this one
      if (key?.secretKey !== credential.secretKey) return undefined;
      const account = await store.accounts.get(key.accountId);
      return account && { accountId: account.accountId, perSecond: account.rateLimits.PhoneVerification ?? account.rateLimit };
    });
  } catch {
    return undefined; // no installation here, or not reachable: the rows refused for the rate say so at the end
  }
}

function printBatchSummary(s: BatchSummary): void {
  const lines = [
    !s.completed
      ? `stopped after ${s.rows} rows; rerun the same command to continue`
      : s.dryRun
        ? `${s.rows} rows checked (dry run: nothing sent, no file written)`
        : `${s.rows} rows → ${s.out}`,
    ...(s.dryRun
      ? []
      : [`sent this run: ${s.sentThisRun}; answered before: ${s.skippedAlreadyAnswered}; charged (all runs): ${s.charged}`]),
    s.dryRun ? "by local pre-check:" : "by result:",
    ...Object.entries(s.byResult)
      .sort()
      .map(([k, n]) => `  ${k.padEnd(24)} ${n}`),
  ];
  if (s.malformed.length > 0) lines.push(`malformed rows (skipped): ${s.malformed.map((m) => `line ${m.line} (${m.reason})`).join(", ")}`);
  if (s.interrupted.length > 0) lines.push(`interrupted rows (not resent): lines ${s.interrupted.join(", ")}`);
  const overRate = s.byResult.RequestLimitExceeded ?? 0;
  if (overRate > 0) {
    lines.push(
      `${overRate} row${overRate === 1 ? "" : "s"} refused with RequestLimitExceeded: more calls a second than the account allows. ` +
        "Rerun the same command with a lower --rate to send them.",
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}
