/**
 * One batch of an import file, from its text (a plain CSV file: lines split at LF, fields at commas) or from rows
 * another parser read, to packed records and rejections. The same function runs in the import's worker threads
 * and, for a small file, on the calling thread.
 */
import { KeyedHasher } from "../common/keyed-hasher";
import { PACKED_RECORD_BYTES } from "../store/packed-records";
import { RecordPacker } from "./record-pack";
import { checkRecord, type RecordRules } from "./record-rules";

/** A row of an input file with its line number, or the reason it could not be read as one. */
export type Row = { line: number; fields: Record<string, unknown> } | { line: number; error: string };

export type BatchInput =
  /** whole lines of a plain CSV file (no quotes), the first of them line `firstLine` */
  { kind: "lines"; firstLine: number; text: Uint8Array } | { kind: "rows"; rows: Row[] };

export interface BatchOutput {
  /** rows read (empty lines are not rows) */
  read: number;
  /** `count` packed records, in line order */
  packed: Buffer;
  count: number;
  rejections: Array<{ line: number; reason: string }>;
}

/** What packing needs besides the batch: the keyed hash's key, the rules, the CSV header's column names. */
export interface BatchContext {
  hashKey: Uint8Array;
  rules: RecordRules;
  columns: readonly string[];
}

export function batchPacker(context: BatchContext): (input: BatchInput) => BatchOutput {
  const packer = new RecordPacker(new KeyedHasher(Buffer.from(context.hashKey)));
  const { rules, columns } = context;
  return (input) => {
    const rows = input.kind === "rows" ? input.rows : linesToRows(input.firstLine, Buffer.from(input.text).toString("utf8"), columns);
    const packed = Buffer.alloc(rows.length * PACKED_RECORD_BYTES);
    const rejections: BatchOutput["rejections"] = [];
    let count = 0;
    for (const row of rows) {
      if ("error" in row) {
        rejections.push({ line: row.line, reason: row.error });
        continue;
      }
      const verdict = checkRecord(row.fields, rules);
      if (!verdict.ok) {
        rejections.push({ line: row.line, reason: verdict.reason });
        continue;
      }
      packer.pack(verdict.record, packed, count++);
    }
    return { read: rows.length, packed: packed.subarray(0, count * PACKED_RECORD_BYTES), count, rejections };
  };
}

/**
 * The rows of whole lines as csv-parse reads a file without quotes (csv.ts): empty lines skipped, a line with fewer
 * fields than the header keeps only the fields it has, one with more is refused. Values are not trimmed.
 */
function linesToRows(firstLine: number, text: string, columns: readonly string[]): Row[] {
  const lines = text.split("\n");
  // text ends with a line's LF, or the file ended: either way the piece after the last LF holds no row unless non-empty
  const rows: Row[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? "";
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line === "") continue;
    const values = line.split(",");
    if (values.length > columns.length) {
      rows.push({ line: firstLine + i, error: `${values.length} fields where the header has ${columns.length}` });
      continue;
    }
    const fields: Record<string, string> = {};
    for (let c = 0; c < values.length; c++) fields[columns[c] ?? ""] = values[c] ?? "";
    rows.push({ line: firstLine + i, fields });
  }
  return rows;
}
