/** Reading a CSV file with a header row, row by row with its line number; a malformed record becomes an error row. */
import { parse as parseCsv } from "csv-parse";
import type { Readable } from "node:stream";

export type CsvRow = { line: number; fields: Record<string, string> } | { line: number; error: string };

/** `header` sees the trimmed header names and returns the column names to use (or throws to refuse the file). */
export async function* csvRows(input: Readable, header: (names: string[]) => string[]): AsyncGenerator<CsvRow> {
  const parser = input.pipe(
    parseCsv({
      columns: (names: string[]) => header(names.map((h) => h.trim())),
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      skip_records_with_error: true,
      info: true,
    }),
  );
  const skipped: CsvRow[] = [];
  parser.on("skip", (err: Error & { lines?: number }) => skipped.push({ line: err.lines ?? 0, error: "malformed CSV" }));
  for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while (skipped.length > 0) yield skipped.shift()!;
    yield { line: item.info.lines, fields: item.record };
  }
  while (skipped.length > 0) yield skipped.shift()!;
}
