/** Commands that call the API as a client would: verify one person, or a whole CSV file. */
import { type Command, Option } from "commander";
import { ClientNetworkError, TencentCloudError } from "../client/errors";
import { FaceIdClient, type PhoneVerificationRequest } from "../client/faceid";
import { encryptRequestFields, type EncryptableField } from "../client/field-encryption";
import { KmsClient } from "../client/kms";
import { runBatch, type BatchSummary } from "./batch";
import { clientOptions, configFor, count, credentialsFor, notListening, storageOptions, type DataOption, type Language } from "./options";
import { printJson, UsageError } from "./output";

type Element = "phone" | "name" | "idcard";
interface Inputs {
  phone?: string;
  name?: string;
  idcard?: string;
}

/** What each action takes from --phone/--mobile, --name and --idcard, and how the typed client calls it. */
const ACTIONS: Record<string, { needs: readonly Element[]; call(c: FaceIdClient, i: Required<Inputs>): Promise<unknown> }> = {
  PhoneVerification: {
    needs: ["phone", "name", "idcard"],
    call: (c, i) => c.phoneVerification({ Phone: i.phone, Name: i.name, IdCard: i.idcard }),
  },
  PhoneVerificationCMCC: {
    needs: ["phone", "name", "idcard"],
    call: (c, i) => c.phoneVerificationCMCC({ Phone: i.phone, Name: i.name, IdCard: i.idcard }),
  },
  PhoneVerificationCTCC: {
    needs: ["phone", "name", "idcard"],
    call: (c, i) => c.phoneVerificationCTCC({ Phone: i.phone, Name: i.name, IdCard: i.idcard }),
  },
  PhoneVerificationCUCC: {
    needs: ["phone", "name", "idcard"],
    call: (c, i) => c.phoneVerificationCUCC({ Phone: i.phone, Name: i.name, IdCard: i.idcard }),
  },
  CheckPhoneAndName: { needs: ["phone", "name"], call: (c, i) => c.checkPhoneAndName({ Mobile: i.phone, Name: i.name }) },
  IdCardVerification: { needs: ["idcard", "name"], call: (c, i) => c.idCardVerification({ IdCard: i.idcard, Name: i.name }) },
  MobileStatus: { needs: ["phone"], call: (c, i) => c.mobileStatus({ Mobile: i.phone }) },
  MobileNetworkTimeVerification: { needs: ["phone"], call: (c, i) => c.mobileNetworkTimeVerification({ Mobile: i.phone }) },
};

/** The inputs the action needs, all given; a UsageError names the first one missing. */
function inputsFor(action: string, given: Inputs): Required<Inputs> {
  const flag: Record<Element, string> = { phone: "--phone (or --mobile)", name: "--name", idcard: "--idcard" };
  for (const element of ACTIONS[action]!.needs) {
    if (given[element] === undefined) throw new UsageError(`${action} needs ${flag[element]}.`);
  }
  return { phone: given.phone ?? "", name: given.name ?? "", idcard: given.idcard ?? "" };
}

export function addCallCommands(program: Command): void {
  clientOptions(storageOptions(program.command("verify")))
    .description("make one signed FaceID call (PhoneVerification unless --action says otherwise) and print the Response object")
    .addOption(new Option("--action <name>", "the FaceID action to call").choices(Object.keys(ACTIONS)).default("PhoneVerification"))
    .option("--phone <phone>", "mobile number (Phone, or Mobile for the actions that call it so)")
    .option("--mobile <phone>", "the same as --phone")
    .option("--name <name>", "name")
    .option("--idcard <id>", "identity number")
    .option("--detailed", "VerifyMode 1: say what did not match on -4")
    .option("--encrypt", "encrypt the fields with a data key from KMS GenerateDataKey (needs --kms-key)")
    .option("--kms-key <keyId>", "the KMS key for --encrypt")
    .option("--kms-region <region>", "the KMS key's region", "ap-guangzhou")
    .option("--encrypt-fields <list>", "which fields --encrypt encrypts", "IdCard,Name,Phone")
    .action(
      async (
        opts: DataOption & {
          action: string;
          phone?: string;
          mobile?: string;
          name?: string;
          idcard?: string;
          detailed?: boolean;
          endpoint: string;
          language?: Language;
          secretId?: string;
          secretKey?: string;
          encrypt?: boolean;
          kmsKey?: string;
          kmsRegion: string;
          encryptFields: string;
        },
      ) => {
        const fields = opts.encryptFields
          .split(",")
          .map((f) => f.trim())
          .filter(Boolean) as EncryptableField[];
        const inputs = inputsFor(opts.action, { phone: opts.phone ?? opts.mobile, name: opts.name, idcard: opts.idcard });
        if (opts.action !== "PhoneVerification" && (opts.encrypt || opts.detailed)) {
          throw new UsageError("--encrypt and --detailed go with PhoneVerification only.");
        }
        if (opts.encrypt && !opts.kmsKey) throw new UsageError("--encrypt needs --kms-key KEY_ID (sanyao kms create-key).");
        if (fields.some((f) => !["IdCard", "Name", "Phone"].includes(f))) {
          throw new UsageError("--encrypt-fields lists IdCard, Name and/or Phone.");
        }
        const credentials = await credentialsFor(opts);
        const connection = {
          credential: { secretId: credentials.secretId, secretKey: credentials.secretKey },
          endpoint: opts.endpoint,
          language: opts.language,
        };
        let params: PhoneVerificationRequest = { Phone: inputs.phone, Name: inputs.name, IdCard: inputs.idcard };
        if (opts.detailed) params.VerifyMode = "1";
        try {
          if (opts.encrypt) {
            const kms = new KmsClient({ ...connection, region: opts.kmsRegion });
            params = encryptRequestFields(params, await kms.dataKey(opts.kmsKey!), fields);
            kms.close();
          }
          const faceid = new FaceIdClient(connection);
          printJson(
            opts.action === "PhoneVerification" ? await faceid.phoneVerification(params) : await ACTIONS[opts.action]!.call(faceid, inputs),
          );
          faceid.close();
        } catch (err) {
          if (err instanceof ClientNetworkError && !err.maybeServed) throw new Error(notListening(opts.endpoint));
          if (!(err instanceof TencentCloudError)) throw err;
          printJson({ Error: { Code: err.code, Message: err.message }, RequestId: err.requestId });
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
    .option("--rate <n>", "requests per second at most (the service allows 20)", count(1), 20)
    .option("--concurrency <n>", "requests in flight at most", count(1), 4)
    .option("--dry-run", "check every row with the local rules; send nothing")
    .option("--resend-interrupted", "send again the rows a killed run had sent without an answer (they may be charged twice)")
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
        if (opts.encrypt && !opts.kmsKey) throw new UsageError("--encrypt needs --kms-key KEY_ID.");
        const summary = await runBatch({
          input,
          out: opts.out,
          columns: { phone: opts.phoneColumn, name: opts.nameColumn, idcard: opts.idcardColumn },
          credential: opts.dryRun ? { secretId: "", secretKey: "" } : await credentialsFor(opts),
          endpoint: opts.endpoint,
          language: opts.language,
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
        else if (!summary.dryRun && summary.rows > 0 && summary.answered === 0) {
          process.stderr.write("sanyao batch: no row got an answer.\n");
          process.exitCode = 1;
        }
      },
    );
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
  process.stdout.write(`${lines.join("\n")}\n`);
}
