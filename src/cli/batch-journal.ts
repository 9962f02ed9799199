/**
 * The journal of `sanyao batch` (OUT.csv.journal): what was sent and answered, keyed by each row's content, so a
 * rerun after the input was edited resumes the rows that are still there — wherever they moved — and sends the new
 * ones, never a row twice nor an answer onto another row. A row's id is a keyed hash (HMAC-SHA256 under a random key
 * of this journal, kept in its first line) of its values in the journal's columns and of how many equal rows came
 * before it: the journal holds no phone, name or identity number.
 *
 * One JSON object a line:
 *   {"journal":2,"key":"…","columns":["phone","name",…]}   first: the row key, and the columns a row is keyed by
 *   {"input":[["id",line],…]}                               a run's rows in order, when they differ from the last run's
 *   {"row":"id","sent":true}                                before a row is sent
 *   {"row":"id","answer":{…},"final":true|false}            when its answer (or its error) comes
 */
import { createHmac, randomBytes } from "node:crypto";
import fs from "node:fs";
import { isJsonObject } from "../common/stored-json";
import { UsageError } from "./output";

export const ANSWER_COLUMNS = ["result", "description", "isp", "result_detail", "request_id", "charged", "error_code"] as const;
export type Answer = Record<(typeof ANSWER_COLUMNS)[number], string>;

export interface Recorded {
  answer: Answer;
  /** false: an error answer, never charged; the row is sent again */
  final: boolean;
}

/** One row of the input as a run reads it: its id and the line it is on. */
export interface InputRow {
  id: string;
  line: number;
}

/** How the input differs from what the last run read. */
export interface InputChanges {
  /** lines of rows the last run did not have (new, or changed since) */
  newOrChanged: number[];
  /** rows the last run had that are no longer there (deleted, or changed), with what became of them */
  gone: Array<{ lastLine: number; state: "answered" | "interrupted" | "error" | "not sent"; charged: boolean }>;
  /** lines of rows that are still there but moved among the others (the fewest such rows) */
  moved: number[];
}

const VERSION = 2;

/** Gives each row its id, in input order: equal rows are told apart by how many came before. */
export class RowKeyer {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly key: Buffer,
    private readonly columns: readonly string[],
  ) {}

  id(fields: Readonly<Record<string, string>>): string {
    const values = JSON.stringify(this.columns.map((c) => fields[c] ?? ""));
    const content = createHmac("sha256", this.key).update(values).digest("base64url");
    const n = this.seen.get(content) ?? 0;
    this.seen.set(content, n + 1);
    // 128 bits: no two rows of any input collide
    return createHmac("sha256", this.key).update(`${content}#${n}`).digest("base64url").slice(0, 22);
  }
}

export class BatchJournal {
  private constructor(
    readonly file: string,
    private readonly key: Buffer,
    /** the columns rows are keyed by: the input's when the journal was started */
    readonly columns: readonly string[],
    /** every row's last known outcome, by id (rows no longer in the input too) */
    readonly answers: Map<string, Recorded>,
    /** sent with no answer yet: the run that sent them was killed */
    readonly inFlight: Set<string>,
    /** the rows the last run read, in order */
    private readonly lastInput: InputRow[] | undefined,
    private fd: number | undefined = undefined,
  ) {}

  /**
   * Opens the journal of `out` for an input with these columns, or starts one. Refuses (UsageError) a journal it
   * cannot match rows against: one of an earlier version, or an input that lost a column the rows are keyed by.
   */
  static open(out: string, header: readonly string[]): BatchJournal {
    const file = `${out}.journal`;
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const lines = text.split("\n").filter((l) => l !== "");
    if (lines.length === 0) {
      const journal = new BatchJournal(file, randomBytes(32), [...header], new Map(), new Set(), undefined);
      journal.append({ journal: VERSION, key: journal.key.toString("base64"), columns: journal.columns });
      return journal;
    }
    const head = journalHead(parseLine(lines[0] ?? ""));
    if (!head) {
      throw new UsageError(
        `${file} was written by an earlier sanyao, which matched rows by their line number. Finish that batch with the ` +
          `version that started it, or start over: remove ${file} and ${out} (the rows it sent stand in the ledger).`,
      );
    }
    const missing = head.columns.filter((c) => !header.includes(c));
    if (missing.length > 0) {
      throw new UsageError(
        `The input has no column ${missing.join(", ")} any more, and the rows of ${file} are matched by it. Put it back, or ` +
          `start over with another --out (the rows the journal sent stand in the ledger). Nothing was sent.`,
      );
    }
    const answers = new Map<string, Recorded>();
    const inFlight = new Set<string>();
    let lastInput: InputRow[] | undefined;
    for (const line of lines.slice(1)) {
      const entry = journalEntry(parseLine(line));
      if (!entry) continue; // a line cut short by a kill
      if ("input" in entry) lastInput = entry.input;
      else if ("sent" in entry) inFlight.add(entry.row);
      else {
        inFlight.delete(entry.row);
        answers.set(entry.row, { answer: entry.answer, final: entry.final });
      }
    }
    return new BatchJournal(file, head.key, head.columns, answers, inFlight, lastInput);
  }

  keyer(): RowKeyer {
    return new RowKeyer(this.key, this.columns);
  }

  /** Notes the rows this run reads (when they differ from the last run's) and says how they differ. */
  startRun(input: InputRow[]): InputChanges | undefined {
    const last = this.lastInput;
    const same = last !== undefined && last.length === input.length && last.every((r, i) => r.id === input[i]?.id);
    if (!same) this.append({ input: input.map((r) => [r.id, r.line]) });
    return last === undefined || same ? undefined : this.changes(last, input);
  }

  sent(id: string): void {
    this.append({ row: id, sent: true });
  }

  answered(id: string, recorded: Recorded): void {
    this.append({ row: id, answer: recorded.answer, final: recorded.final });
    this.answers.set(id, recorded);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private append(entry: object): void {
    this.fd ??= fs.openSync(this.file, "a");
    fs.writeSync(this.fd, `${JSON.stringify(entry)}\n`);
  }

  private changes(last: InputRow[], input: InputRow[]): InputChanges | undefined {
    const lastIndex = new Map(last.map((r, i) => [r.id, i]));
    const now = new Set(input.map((r) => r.id));
    const kept = input.filter((r) => lastIndex.has(r.id));
    const inOrder = longestIncreasing(kept.map((r) => lastIndex.get(r.id) ?? 0));
    const changes: InputChanges = {
      newOrChanged: input.filter((r) => !lastIndex.has(r.id)).map((r) => r.line),
      gone: last
        .filter((r) => !now.has(r.id))
        .map((r) => {
          const recorded = this.answers.get(r.id);
          const interrupted = this.inFlight.has(r.id) || recorded?.answer.error_code === "Interrupted";
          return {
            lastLine: r.line,
            state: interrupted ? "interrupted" : recorded === undefined ? "not sent" : recorded.final ? "answered" : "error",
            charged: recorded?.answer.charged === "1",
          };
        }),
      moved: kept.filter((_, i) => !inOrder.has(i)).map((r) => r.line),
    };
    return changes.newOrChanged.length + changes.gone.length + changes.moved.length > 0 ? changes : undefined;
  }
}

/** The positions of one longest strictly increasing subsequence of `values` (patience sorting, n log n). */
function longestIncreasing(values: readonly number[]): Set<number> {
  const tails: number[] = []; // position of the last value of the best run of each length
  const before = new Array<number>(values.length).fill(-1);
  values.forEach((v, i) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((values[tails[mid] ?? 0] ?? 0) < v) lo = mid + 1;
      else hi = mid;
    }
    before[i] = lo > 0 ? (tails[lo - 1] ?? -1) : -1;
    tails[lo] = i;
  });
  const kept = new Set<number>();
  for (let i = tails[tails.length - 1] ?? -1; i >= 0; i = before[i] ?? -1) kept.add(i);
  return kept;
}

function parseLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type Entry = { input: InputRow[] } | { row: string; sent: true } | { row: string; answer: Answer; final: boolean };

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function journalHead(v: unknown): { key: Buffer; columns: string[] } | undefined {
  if (!isJsonObject(v) || v.journal !== VERSION || typeof v.key !== "string" || !isStringArray(v.columns)) return undefined;
  const key = Buffer.from(v.key, "base64");
  return key.length === 32 ? { key, columns: v.columns } : undefined;
}

function answerOf(v: unknown): Answer | undefined {
  if (!isJsonObject(v)) return undefined;
  const { result, description, isp, result_detail, request_id, charged, error_code } = v;
  if (
    typeof result !== "string" ||
    typeof description !== "string" ||
    typeof isp !== "string" ||
    typeof result_detail !== "string" ||
    typeof request_id !== "string" ||
    typeof charged !== "string" ||
    typeof error_code !== "string"
  )
    return undefined;
  return { result, description, isp, result_detail, request_id, charged, error_code };
}

function journalEntry(v: unknown): Entry | undefined {
  if (!isJsonObject(v)) return undefined;
  if (Array.isArray(v.input)) {
    const input: InputRow[] = [];
    for (const item of v.input) {
      if (!Array.isArray(item) || typeof item[0] !== "string" || typeof item[1] !== "number") return undefined;
      input.push({ id: item[0], line: item[1] });
    }
    return { input };
  }
  if (typeof v.row !== "string") return undefined;
  if (v.sent === true) return { row: v.row, sent: true };
  const answer = answerOf(v.answer);
  return answer && typeof v.final === "boolean" ? { row: v.row, answer, final: v.final } : undefined;
}
