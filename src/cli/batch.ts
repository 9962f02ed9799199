/**
 * `sanyao batch IN.csv --out OUT.csv`: verifies every row at the allowed pace with bounded concurrency, and
 * never sends a row twice. Progress is journaled beside the output (OUT.csv.journal, one JSON line per event,
 * written before a row is sent and when its answer comes): a rerun with the same --out skips what was answered,
 * and does not resend a row that was in flight when the process was killed (its answer is unknown, it may have
 * been charged) unless --resend-interrupted says so; nor a row whose connection failed after it was sent. Error
 * answers are never charged, so rows that got one are sent again.
 */
import { stringify } from "csv-stringify/sync";
import cliProgress from "cli-progress";
import fs from "node:fs";
import { ClientNetworkError, TencentCloudError } from "../client/errors";
import { FaceIdClient, PHONE_VERIFICATION_RESULTS, type PhoneVerificationRequest } from "../client/faceid";
import { encryptRequestFields, type DataKey, type EncryptableField } from "../client/field-encryption";
import { KmsClient } from "../client/kms";
import type { Config } from "../app/config";
import { checkCsvFile, CsvFileError, csvRows } from "../sources/csv";
import { chinaDate, precheck } from "../rules/precheck";
import { loadRuleTables } from "../rules/tables";
import { notListening, readableFile } from "./options";
import { UsageError } from "./output";

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
  concurrency: number;
  dryRun: boolean;
  resendInterrupted: boolean;
  json: boolean;
  config: Config;
}

const ANSWER_COLUMNS = ["result", "description", "isp", "result_detail", "request_id", "charged", "error_code"] as const;
type Answer = Record<(typeof ANSWER_COLUMNS)[number], string>;
type JournalEntry = { line: number; sent: true } | { line: number; answer: Answer; final: boolean };

interface Row {
  line: number;
  fields: Record<string, string>;
}

export interface BatchSummary {
  rows: number;
  sentThisRun: number;
  skippedAlreadyAnswered: number;
  byResult: Record<string, number>;
  /** rows with a Result (all runs) */
  answered: number;
  charged: number;
  malformed: Array<{ line: number; reason: string }>;
  interrupted: number[];
  completed: boolean;
  dryRun: boolean;
  out?: string;
}

function readRows(file: string, onHeader: (header: string[]) => void) {
  return csvRows(fs.createReadStream(file), (names) => {
    onHeader(names);
    return names;
  });
}

/** A row whose request may have been served (and charged) without its answer arriving. */
function interruptedAnswer(description: string): Answer {
  return { result: "", description, isp: "", result_detail: "", request_id: "", charged: "", error_code: "Interrupted" };
}

function readJournal(file: string): { answers: Map<number, { answer: Answer; final: boolean }>; inFlight: Set<number> } {
  const answers = new Map<number, { answer: Answer; final: boolean }>();
  const inFlight = new Set<number>();
  if (!fs.existsSync(file)) return { answers, inFlight };
  for (const text of fs.readFileSync(file, "utf8").split("\n")) {
    let entry: JournalEntry;
    try {
      entry = JSON.parse(text) as JournalEntry;
    } catch {
      continue; // a line cut short by a kill
    }
    if ("sent" in entry) inFlight.add(entry.line);
    else {
      inFlight.delete(entry.line);
      answers.set(entry.line, { answer: entry.answer, final: entry.final });
    }
  }
  return { answers, inFlight };
}

function countLines(file: string): number {
  const data = fs.readFileSync(file);
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 10) n++;
  return Math.max(0, n - 1 + (data.length > 0 && data[data.length - 1] !== 10 ? 1 : 0));
}

function malformedReason(row: Row, columns: BatchOptions["columns"]): string | undefined {
  for (const [what, column] of Object.entries(columns)) {
    const value = row.fields[column];
    if (value === undefined || value.trim() === "") return `no ${what} (column ${column})`;
  }
  return undefined;
}

export async function runBatch(o: BatchOptions): Promise<BatchSummary> {
  readableFile(o.input);
  try {
    await checkCsvFile(o.input);
  } catch (err) {
    if (err instanceof CsvFileError) throw new UsageError(`${o.input}: ${err.message}. Nothing was sent.`);
    throw err;
  }
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
  };
  const checkHeader = (names: string[]) => {
    header = names;
    const missing = Object.values(o.columns).filter((c) => !names.includes(c));
    if (missing.length > 0)
      throw new UsageError(`The input has no column ${missing.join(", ")} (header: ${names.join(",")}); see --phone-column and friends.`);
  };

  if (o.dryRun) return dryRun(o, checkHeader, summary);
  if (!o.out) throw new UsageError("--out OUT.csv is required (or --dry-run).");
  const journalFile = `${o.out}.journal`;
  const { answers, inFlight } = readJournal(journalFile);
  const journal = fs.openSync(journalFile, "a");
  const write = (entry: JournalEntry) => fs.writeSync(journal, `${JSON.stringify(entry)}\n`);

  const client = new FaceIdClient({
    credential: o.credential,
    endpoint: o.endpoint,
    language: o.language,
    pace: o.rate,
    retry: { attempts: 3 },
  });
  let dataKey: DataKey | undefined;
  if (o.encrypt) {
    const kms = new KmsClient({ credential: o.credential, endpoint: o.endpoint, region: o.encrypt.region });
    dataKey = await kms.dataKey(o.encrypt.keyId);
    kms.close();
  }

  const total = countLines(o.input);
  const progress = startProgress(total, o.json);
  let stopping = false;
  let fatal: Error | undefined;
  const onSignal = () => {
    if (!stopping) process.stderr.write("\nsanyao batch: stopping after the rows in flight; rerun the same command to continue.\n");
    stopping = true;
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const inFlightNow = new Set<Promise<void>>();
  const send = async (row: Row) => {
    let request: PhoneVerificationRequest = {
      Phone: row.fields[o.columns.phone]!,
      Name: row.fields[o.columns.name]!,
      IdCard: row.fields[o.columns.idcard]!,
    };
    if (o.detailed) request.VerifyMode = "1";
    if (dataKey && o.encrypt) request = encryptRequestFields(request, dataKey, o.encrypt.fields);
    write({ line: row.line, sent: true });
    summary.sentThisRun++;
    let answer: Answer;
    let final = true;
    try {
      const r = await client.phoneVerification(request);
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
    write({ line: row.line, answer, final });
    answers.set(row.line, { answer, final });
    progress.tick();
  };

  for await (const row of readRows(o.input, checkHeader)) {
    if (stopping) break;
    summary.rows++;
    if ("error" in row) {
      summary.malformed.push({ line: row.line, reason: row.error });
      progress.tick();
      continue;
    }
    const done = answers.get(row.line);
    if (done?.final && !(o.resendInterrupted && done.answer.error_code === "Interrupted")) {
      summary.skippedAlreadyAnswered++;
      progress.tick();
      continue;
    }
    const reason = malformedReason(row, o.columns);
    if (reason) {
      summary.malformed.push({ line: row.line, reason });
      progress.tick();
      continue;
    }
    if (inFlight.has(row.line) && !o.resendInterrupted) {
      // Sent by a run that was killed before its answer came: it may have been charged. Not sent again.
      const answer = interruptedAnswer("interrupted: sent before, answer unknown");
      write({ line: row.line, answer, final: true });
      answers.set(row.line, { answer, final: true });
      progress.tick();
      continue;
    }
    while (inFlightNow.size >= o.concurrency) await Promise.race(inFlightNow);
    if (stopping) break;
    const task = send(row).finally(() => inFlightNow.delete(task));
    inFlightNow.add(task);
  }
  await Promise.all(inFlightNow);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  progress.stop();
  fs.closeSync(journal);
  client.close();
  if (fatal) throw fatal;

  if (!stopping) {
    await writeOutput(o, header, answers);
    summary.completed = true;
  }
  for (const { answer } of answers.values()) {
    const key = answer.result || answer.error_code;
    summary.byResult[key] = (summary.byResult[key] ?? 0) + 1;
    if (answer.result !== "") summary.answered++;
    if (answer.charged === "1") summary.charged++;
  }
  summary.interrupted = [...answers.entries()].filter(([, a]) => a.answer.error_code === "Interrupted").map(([line]) => line);
  return summary;
}

/** One output row per input row, in input order: the input columns as given, then the answer. */
async function writeOutput(o: BatchOptions, header: string[], answers: Map<number, { answer: Answer }>): Promise<void> {
  const tmp = `${o.out}.tmp`;
  const out = fs.openSync(tmp, "w");
  fs.writeSync(out, stringify([[...header, ...ANSWER_COLUMNS]]));
  for await (const row of readRows(o.input, () => undefined)) {
    const answer = answers.get(row.line)?.answer;
    const fields = "error" in row ? header.map(() => "") : header.map((h) => row.fields[h] ?? "");
    const extra = answer
      ? ANSWER_COLUMNS.map((c) => answer[c])
      : ["", "error" in row ? row.error : (malformedReason(row, o.columns) ?? ""), "", "", "", "0", "MalformedRow"];
    fs.writeSync(out, stringify([[...fields, ...extra]]));
  }
  fs.closeSync(out);
  fs.renameSync(tmp, o.out!);
}

async function dryRun(o: BatchOptions, checkHeader: (h: string[]) => void, summary: BatchSummary): Promise<BatchSummary> {
  const tables = loadRuleTables();
  const today = chinaDate(Date.now());
  for await (const row of readRows(o.input, checkHeader)) {
    summary.rows++;
    if ("error" in row) {
      summary.malformed.push({ line: row.line, reason: row.error });
      continue;
    }
    const reason = malformedReason(row, o.columns);
    if (reason) {
      summary.malformed.push({ line: row.line, reason });
      continue;
    }
    const checked = precheck(
      { phone: row.fields[o.columns.phone]!, name: row.fields[o.columns.name]!, idCard: row.fields[o.columns.idcard]! },
      tables,
      o.config.policy,
      today,
    );
    const key = checked.kind === "ok" ? "would be sent" : checked.result;
    summary.byResult[key] = (summary.byResult[key] ?? 0) + 1;
  }
  summary.completed = true;
  return summary;
}

function startProgress(total: number, quiet: boolean): { tick(): void; stop(): void } {
  let done = 0;
  const started = Date.now();
  if (process.stderr.isTTY && !quiet) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: "batch [{bar}] {value}/{total} rows | {rate}/s | {eta_formatted} left", etaBuffer: 100 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: "0.0" });
    return {
      tick: () => bar.update(++done, { rate: (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1) }),
      stop: () => bar.stop(),
    };
  }
  // Not a terminal: a plain line every five seconds.
  const timer = setInterval(() => {
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
    const left = rate > 0 ? Math.round((total - done) / rate) : 0;
    process.stderr.write(`sanyao batch: ${done}/${total} rows, ${rate.toFixed(1)}/s, about ${left} s left\n`);
  }, 5000);
  timer.unref();
  return { tick: () => void done++, stop: () => clearInterval(timer) };
}
