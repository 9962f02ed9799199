/**
 * `sanyao batch IN.csv --out OUT.csv`: verifies every row at the allowed pace with bounded concurrency, and
 * never sends a row twice. Progress is journaled beside the output (batch-journal.ts: written before a row is sent
 * and when its answer comes, rows keyed by their content): a rerun with the same --out skips what was answered —
 * wherever the row moved if the input was edited, and says what changed — and does not resend a row that was in
 * flight when the process was killed (its answer is unknown, it may have been charged) unless --resend-interrupted
 * says so; nor a row whose connection failed after it was sent. Error answers are never charged, so rows that got
 * one are sent again.
 */
import { stringify } from "csv-stringify/sync";
import fs from "node:fs";
import { ClientNetworkError, TencentCloudError } from "../client/errors";
import { FaceIdClient, PHONE_VERIFICATION_RESULTS, type PhoneVerificationRequest } from "../client/faceid";
import { encryptRequestFields, type DataKey, type EncryptableField } from "../client/field-encryption";
import { KmsClient } from "../client/kms";
import type { Config } from "../app/config";
import { checkCsvFile, CsvFileError, csvRows } from "../sources/csv";
import { FileChangedError, HeldFile } from "../sources/held-file";
import { chinaDate, precheck } from "../rules/precheck";
import { loadRuleTables } from "../rules/tables";
import { notListening, readableFile } from "./options";
import { UsageError } from "./output";
import { ANSWER_COLUMNS, type Answer, BatchJournal, type InputChanges, type InputRow } from "./batch-journal";
import { startProgress } from "./batch-progress";

export interface BatchOptions {
  input: string;
  out?: string;
  columns: { phone: string; name: string; idcard: string };
  credential: { secretId: string; secretKey: string };
  endpoint: string;
  language?: "zh-CN" | "en-US";
  detailed: boolean;
  encrypt?: { keyId: string; region: string; fields: EncryptableField[] };
  rate: number;
  /** the account's per-second limit for PhoneVerification, when the installation that holds the key is at hand */
  accountLimit?: { accountId: string; perSecond: number };
  concurrency: number;
  dryRun: boolean;
  resendInterrupted: boolean;
  json: boolean;
  config: Config;
}

export interface BatchSummary {
  /** rows handled this run: sent, skipped as answered before, malformed, or marked interrupted */
  rows: number;
  sentThisRun: number;
  skippedAlreadyAnswered: number;
  byResult: Record<string, number>;
  /** rows of the input with a Result (all runs) */
  answered: number;
  /** answers charged, all runs (rows edited away since included: their charges stand) */
  charged: number;
  malformed: Array<{ line: number; reason: string }>;
  interrupted: number[];
  /** how the input differs from what the last run with this --out read; absent when it does not */
  changes?: InputChanges;
  completed: boolean;
  dryRun: boolean;
  out?: string;
  /** requests a second this run was paced at: --rate, or the account's limit when that is lower */
  rate: number;
}

function readRows(file: HeldFile, onHeader: (header: string[]) => void) {
  return csvRows(file.stream(), (names) => {
    onHeader(names);
    return names;
  });
}

/** A row whose request may have been served (and charged) without its answer arriving. */
function interruptedAnswer(description: string): Answer {
  return { result: "", description, isp: "", result_detail: "", request_id: "", charged: "", error_code: "Interrupted" };
}

/**
 * The input's rows with their ids, read once before anything is sent; the journal is opened (or started) as soon as
 * the header is known, since the rows are keyed by its columns.
 */
async function readInput(o: BatchOptions & { out: string }, input: HeldFile, checkHeader: (names: string[]) => void) {
  let opened: { journal: BatchJournal; keyer: ReturnType<BatchJournal["keyer"]> } | undefined;
  const open = (names: string[]) => {
    checkHeader(names);
    const journal = BatchJournal.open(o.out, names);
    opened = { journal, keyer: journal.keyer() };
  };
  const rows: InputRow[] = [];
  let total = 0;
  for await (const row of readRows(input, open)) {
    total++;
    if (opened && !("error" in row)) rows.push({ id: opened.keyer.id(row.fields), line: row.line });
  }
  // an empty file has no header: nothing to key, nothing to send
  return { journal: opened?.journal ?? BatchJournal.open(o.out, []), rows, total };
}

function malformedReason(fields: Readonly<Record<string, string>>, columns: BatchOptions["columns"]): string | undefined {
  for (const [what, column] of Object.entries(columns)) {
    const value = fields[column];
    if (value === undefined || value.trim() === "") return `no ${what} (column ${column})`;
  }
  return undefined;
}

export async function runBatch(o: BatchOptions): Promise<BatchSummary> {
  readableFile(o.input);
  // held for the whole run: every read of its rows (keyed, sent, written out) is of the file checked here
  const input = HeldFile.open(o.input);
  try {
    try {
      await checkCsvFile(input);
    } catch (err) {
      if (err instanceof CsvFileError) throw new UsageError(`${o.input}: ${err.message}. Nothing was sent.`);
      throw err;
    }
    return await batchOf(o, input);
  } catch (err) {
    if (err instanceof FileChangedError) throw new Error(`${o.input}: ${err.message}`);
    throw err;
  } finally {
    await input.close();
  }
}

/** Why a run that read an input written to meanwhile stops before its output. */
const CHANGED_MIDWAY = "so no output was written; the answers received are kept: rerun the same command once it is written";

async function batchOf(o: BatchOptions, input: HeldFile): Promise<BatchSummary> {
  let header: string[] = [];
  const summary: BatchSummary = {
    rows: 0,
    sentThisRun: 0,
    skippedAlreadyAnswered: 0,
    byResult: {},
    answered: 0,
    charged: 0,
    malformed: [],
    interrupted: [],
    completed: false,
    dryRun: o.dryRun,
    out: o.out,
    rate: o.rate,
  };
  const checkHeader = (names: string[]) => {
    header = names;
    const missing = Object.values(o.columns).filter((c) => !names.includes(c));
    if (missing.length > 0)
      throw new UsageError(`The input has no column ${missing.join(", ")} (header: ${names.join(",")}); see --phone-column and friends.`);
  };

  if (o.dryRun) return dryRun(o, input, checkHeader, summary);
  const { out } = o;
  if (!out) throw new UsageError("--out OUT.csv is required (or --dry-run).");
  const { journal, rows: inputRows, total } = await readInput({ ...o, out }, input, checkHeader);
  const changes = journal.startRun(inputRows);
  if (changes) {
    summary.changes = changes;
    process.stderr.write(changesText(o.input, changes));
  }
  const { answers, inFlight } = journal;

  if (o.accountLimit && o.accountLimit.perSecond < o.rate) {
    // Above the limit, the rows past it each second would only come back RequestLimitExceeded.
    summary.rate = o.accountLimit.perSecond;
    process.stderr.write(
      `sanyao batch: --rate ${o.rate} is more than account ${o.accountLimit.accountId} may send: ${summary.rate} PhoneVerification ` +
        `calls a second; sending at ${summary.rate} a second (raise it with sanyao accounts set ${o.accountLimit.accountId} ` +
        `--rate-limit PhoneVerification=N).\n`,
    );
  }
  const client = new FaceIdClient({
    credential: o.credential,
    endpoint: o.endpoint,
    language: o.language,
    pace: summary.rate,
    retry: { attempts: 3 },
  });
  let dataKey: DataKey | undefined;
  if (o.encrypt) {
    const kms = new KmsClient({ credential: o.credential, endpoint: o.endpoint, region: o.encrypt.region });
    dataKey = await kms.dataKey(o.encrypt.keyId);
    kms.close();
  }

  const progress = startProgress(total, o.json);
  let stopping = false;
  let fatal: Error | undefined;
  const onSignal = () => {
    if (!stopping) progress.say("sanyao batch: stopping after the rows in flight; rerun the same command to continue.\n");
    stopping = true;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const inFlightNow = new Set<Promise<void>>();
  const send = async (id: string, request: PhoneVerificationRequest) => {
    if (o.detailed) request.VerifyMode = "1";
    const sent = dataKey && o.encrypt ? encryptRequestFields(request, dataKey, o.encrypt.fields) : request;
    journal.sent(id);
    summary.sentThisRun++;
    let answer: Answer;
    let final = true;
    try {
      const r = await client.phoneVerification(sent);
      answer = {
        result: r.Result,
        description: r.Description,
        isp: r.Isp,
        result_detail: r.ResultDetail ?? "",
        request_id: r.RequestId,
        charged: PHONE_VERIFICATION_RESULTS[r.Result]?.charged ? "1" : "0",
        error_code: "",
      };
    } catch (err) {
      if (!(err instanceof TencentCloudError || err instanceof ClientNetworkError)) throw err;
      if (err instanceof ClientNetworkError && err.maybeServed) {
        // The request may have been served and charged, its answer lost: like a killed run's row, never resent.
        answer = interruptedAnswer(`interrupted: ${err.message}; the answer is unknown`);
      } else {
        // An error envelope is never charged, nor is a request that never left: the row stays open for a rerun.
        final = false;
        const code = err instanceof TencentCloudError ? err.code : "NetworkError";
        answer = {
          result: "",
          description: err.message,
          isp: "",
          result_detail: "",
          request_id: err instanceof TencentCloudError ? err.requestId : "",
          charged: "0",
          error_code: code,
        };
        if (/^(AuthFailure|UnauthorizedOperation)\./.test(code) && !fatal) {
          fatal = new Error(`${code}: ${err.message} — stopping; nothing more is sent. Fix it and rerun the same command.`);
          stopping = true;
        } else if (err instanceof ClientNetworkError && !fatal) {
          fatal = new Error(`${notListening(o.endpoint)} Stopping; rerun the same command to continue.`);
          stopping = true;
        }
      }
    }
    journal.answered(id, { answer, final });
    progress.tick("sent");
  };

  const keyer = journal.keyer();
  for await (const row of readRows(input, () => undefined)) {
    if (stopping) break;
    if ("error" in row) {
      summary.rows++;
      summary.malformed.push({ line: row.line, reason: row.error });
      progress.tick("settled");
      continue;
    }
    const id = keyer.id(row.fields);
    const done = answers.get(id);
    if (done?.final && !(o.resendInterrupted && done.answer.error_code === "Interrupted")) {
      summary.rows++;
      summary.skippedAlreadyAnswered++;
      progress.tick("settled");
      continue;
    }
    const request = verificationRequest(row.fields, o.columns);
    if (typeof request === "string") {
      summary.rows++;
      summary.malformed.push({ line: row.line, reason: request });
      progress.tick("settled");
      continue;
    }
    if (inFlight.has(id) && !o.resendInterrupted) {
      // Sent by a run that was killed before its answer came: it may have been charged. Not sent again.
      summary.rows++;
      journal.answered(id, { answer: interruptedAnswer("interrupted: sent before, answer unknown"), final: true });
      progress.tick("settled");
      continue;
    }
    while (inFlightNow.size >= o.concurrency) await Promise.race(inFlightNow);
    if (stopping) break; // this row was read, not sent: not counted among the rows handled
    try {
      // one fstat a row sent: a file rewritten in place mid-run is not sent on (its rows may be torn)
      input.assertUnchanged(CHANGED_MIDWAY);
    } catch (err) {
      fatal ??= err instanceof Error ? err : new Error(String(err));
      stopping = true;
      break;
    }
    summary.rows++;
    const task = send(id, request).finally(() => inFlightNow.delete(task));
    inFlightNow.add(task);
  }
  await Promise.all(inFlightNow);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  progress.stop();
  journal.close();
  client.close();
  if (fatal) throw fatal;
  // keyed, sent and written out from the file checked: written to meanwhile, its rows may not be the ones keyed (a
  // run stopped by Ctrl-C writes no output either way, and keeps its summary)
  if (!stopping) input.assertUnchanged(CHANGED_MIDWAY);

  if (!stopping) {
    await writeOutput({ ...o, out }, input, header, journal);
    summary.completed = true;
  }
  const ofInput = inputRows.flatMap((r) => {
    const recorded = answers.get(r.id);
    return recorded ? [{ line: r.line, ...recorded }] : [];
  });
  for (const { answer } of ofInput) {
    const key = answer.result || answer.error_code;
    summary.byResult[key] = (summary.byResult[key] ?? 0) + 1;
    if (answer.result !== "") summary.answered++;
  }
  for (const { answer } of answers.values()) if (answer.charged === "1") summary.charged++;
  summary.interrupted = ofInput.filter((a) => a.answer.error_code === "Interrupted").map((a) => a.line);
  return summary;
}

/** The request of a row, or why the row cannot be sent (a column left empty). */
function verificationRequest(fields: Record<string, string>, columns: BatchOptions["columns"]): PhoneVerificationRequest | string {
  const reason = malformedReason(fields, columns);
  if (reason) return reason;
  return { Phone: fields[columns.phone] ?? "", Name: fields[columns.name] ?? "", IdCard: fields[columns.idcard] ?? "" };
}

/** What the operator reads when the input is not what the last run read. */
function changesText(input: string, c: InputChanges): string {
  const lines = (ns: number[]) => (ns.length > 20 ? `${ns.slice(0, 20).join(", ")} and ${ns.length - 20} more` : ns.join(", "));
  const out = [`sanyao batch: ${input} changed since the last run of this --out; rows are matched by their content, not their line:`];
  if (c.newOrChanged.length > 0) out.push(`  new or changed rows: lines ${lines(c.newOrChanged)}`);
  if (c.gone.length > 0) {
    const count = (state: InputChanges["gone"][number]["state"]) => c.gone.filter((g) => g.state === state).length;
    const charged = c.gone.filter((g) => g.charged).length;
    const fates = [
      count("answered") > 0 ? `${count("answered")} answered (${charged} charged: those charges stand)` : "",
      count("interrupted") > 0 ? `${count("interrupted")} interrupted (answer unknown; may have been charged)` : "",
      count("error") > 0 ? `${count("error")} with an error (never charged)` : "",
      count("not sent") > 0 ? `${count("not sent")} never sent` : "",
    ].filter(Boolean);
    out.push(
      `  no longer in the input: lines ${lines(c.gone.map((g) => g.lastLine))} of the last run — ${fates.join(", ")}; ` +
        "they have no output row",
    );
  }
  if (c.moved.length > 0) out.push(`  moved: lines ${lines(c.moved)} (each keeps its own answer)`);
  return `${out.join("\n")}\n`;
}

/** One output row per input row, in input order: the input columns as given, then the answer. */
async function writeOutput(o: BatchOptions & { out: string }, input: HeldFile, header: string[], journal: BatchJournal): Promise<void> {
  const tmp = `${o.out}.tmp`;
  const out = fs.openSync(tmp, "w");
  fs.writeSync(out, stringify([[...header, ...ANSWER_COLUMNS]]));
  const keyer = journal.keyer();
  for await (const row of readRows(input, () => undefined)) {
    const answer = "error" in row ? undefined : journal.answers.get(keyer.id(row.fields))?.answer;
    const fields = "error" in row ? header.map(() => "") : header.map((h) => row.fields[h] ?? "");
    const extra = answer
      ? ANSWER_COLUMNS.map((c) => answer[c])
      : ["", "error" in row ? row.error : (malformedReason(row.fields, o.columns) ?? ""), "", "", "", "0", "MalformedRow"];
    fs.writeSync(out, stringify([[...fields, ...extra]]));
  }
  fs.closeSync(out);
  try {
    input.assertUnchanged(CHANGED_MIDWAY);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.renameSync(tmp, o.out);
}

async function dryRun(o: BatchOptions, input: HeldFile, checkHeader: (h: string[]) => void, summary: BatchSummary): Promise<BatchSummary> {
  const tables = loadRuleTables();
  const today = chinaDate(Date.now());
  for await (const row of readRows(input, checkHeader)) {
    summary.rows++;
    if ("error" in row) {
      summary.malformed.push({ line: row.line, reason: row.error });
      continue;
    }
    const request = verificationRequest(row.fields, o.columns);
    if (typeof request === "string") {
      summary.malformed.push({ line: row.line, reason: request });
      continue;
    }
    const checked = precheck({ phone: request.Phone, name: request.Name, idCard: request.IdCard }, tables, o.config.policy, today);
    const key = checked.kind === "ok" ? "would be sent" : checked.result;
    summary.byResult[key] = (summary.byResult[key] ?? 0) + 1;
  }
  input.assertUnchanged("so what was checked is not one file's rows; check it again once it is written");
  summary.completed = true;
  return summary;
}
