/**
 * Reading a CSV file with a header row, row by row with its line number; a malformed record becomes an error row.
 * A file whose quote never closes cannot be read row by row at all (RFC 4180 makes the rest of the file one
 * field): `checkCsvFile` finds that before anything is sent or imported, and names the line the quote opened on.
 */
import { parse as parseCsv } from "csv-parse";
import { pipeline, type Readable, type Transform } from "node:stream";
import type { HeldFile } from "./held-file";

export type CsvRow = { line: number; fields: Record<string, string> } | { line: number; error: string };

/** A CSV file that cannot be read as rows; the message names the line and never quotes the data. */
export class CsvFileError extends Error {}

/**
 * `input` piped into `parser` by stream.pipeline: the input's failure (a file unreadable) ends the parser's reading,
 * and a parser whose reader stops early destroys the input. Either way the reader sees what happened.
 */
function pipedInto<T extends Transform>(input: Readable, parser: T): T {
  pipeline(input, parser, () => undefined);
  return parser;
}

/**
 * Reads the whole file once with the same parser and options as `csvRows`, keeping nothing. A quote that never
 * closes ends the parse; it opened on the line after the last record that did end. Throws CsvFileError then.
 */
export async function checkCsvFile(file: HeldFile): Promise<void> {
  if (!(await containsQuote(file))) return; // nothing can be left open: skip the slower parse
  let lastEnded = 0;
  let unclosed = false;
  const parser = pipedInto(file.stream(), parseCsv({ ...CSV_OPTIONS, columns: false, info: true }));
  parser.on("skip", (err: Error & { code?: string; lines?: number }) => {
    if (err.code === "CSV_QUOTE_NOT_CLOSED") unclosed = true;
    else lastEnded = Math.max(lastEnded, err.lines ?? 0);
  });
  for await (const item of parser as AsyncIterable<{ info: { lines: number } }>) lastEnded = item.info.lines;
  if (unclosed) {
    throw new CsvFileError(`the quote opened on line ${lastEnded + 1} is never closed, so the rest of the file would be one field`);
  }
}

async function containsQuote(file: HeldFile): Promise<boolean> {
  for await (const chunk of file.stream() as AsyncIterable<Buffer>) if (chunk.includes(0x22)) return true;
  return false;
}

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Whether splitting lines at LF (dropping a CR before it) and fields at commas reads the file exactly as `csvRows`
 * does: no quote anywhere, and every line ending LF or every one CRLF (the parser takes the first ending it sees
 * as the only one, so a mixed file reads differently).
 */
export async function isPlainCsv(file: HeldFile): Promise<boolean> {
  let lf = 0;
  let crlf = 0;
  let cr = 0;
  let previous = 0;
  for await (const chunk of file.stream(1 << 20) as AsyncIterable<Buffer>) {
    if (chunk.includes(QUOTE)) return false;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      lf++;
      if ((i === 0 ? previous : chunk[i - 1]) === CR) crlf++;
    }
    for (let i = chunk.indexOf(CR); i !== -1; i = chunk.indexOf(CR, i + 1)) cr++;
    previous = chunk[chunk.length - 1] ?? previous;
  }
  return cr === 0 || (cr === crlf && crlf === lf);
}

const CSV_OPTIONS = {
  bom: true,
  skip_empty_lines: true,
  // fewer fields than the header: the row is read and its missing values are reported; more: the row is refused
  relax_column_count_less: true,
  skip_records_with_error: true,
} as const;

/** `header` sees the trimmed header names and returns the column names to use (or throws to refuse the file). */
export async function* csvRows(input: Readable, header: (names: string[]) => string[]): AsyncGenerator<CsvRow> {
  let columns = 0;
  const parser = pipedInto(
    input,
    parseCsv({
      columns: (names: string[]) => {
        columns = names.length;
        return header(names.map((h) => h.trim()));
      },
      ...CSV_OPTIONS,
      info: true,
    }),
  );
  // The parser reads ahead of the rows taken from it, so a refused record's event can come before the rows above
  // it are taken: each waits for the row it follows, and rows leave in line order.
  const skipped: CsvRow[] = [];
  parser.on("skip", (err: Error & { code?: string; lines?: number; record?: unknown[] }) => {
    const fields = Array.isArray(err.record) ? err.record.length : undefined;
    const error =
      err.code === "CSV_RECORD_INCONSISTENT_COLUMNS" && fields !== undefined
        ? `${fields} fields where the header has ${columns}`
        : `malformed CSV (${err.code ?? "unreadable"})`;
    skipped.push({ line: err.lines ?? 0, error });
  });
  for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while ((skipped[0]?.line ?? Number.POSITIVE_INFINITY) < item.info.lines) {
      const row = skipped.shift();
      if (row) yield row;
    }
    yield { line: item.info.lines, fields: item.record };
  }
  for (let row = skipped.shift(); row; row = skipped.shift()) yield row;
}
