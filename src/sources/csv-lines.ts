/**
 * A plain CSV file (csv.ts isPlainCsv: no quotes, one kind of line ending) read as its header and then batches of
 * whole lines, as bytes: splitting them into rows is left to whoever packs the batch (a worker thread). Streams:
 * one chunk and one part line are held at a time. A line longer than MAX_LINE_BYTES (a record is about a hundred
 * bytes) refuses the file: no records file has one, and a part line carried from chunk to chunk stays small.
 */
import { CsvFileError } from "./csv";
import type { HeldFile } from "./held-file";
import type { BatchInput } from "./import-batch";

const LF = 0x0a;
const CHUNK = 1 << 20;
export const MAX_LINE_BYTES = 64 * 1024;

/** Named by its number only: its content may be a record. */
const tooLong = (line: number) =>
  new CsvFileError(`line ${line} is longer than ${MAX_LINE_BYTES / 1024} KiB, which no records file's line is (is it the right file?)`);

export interface PlainCsv {
  columns: string[];
  batches: AsyncIterable<BatchInput>;
}

/** `header` sees the trimmed header names and returns the column names to use (or throws to refuse the file). */
export async function readPlainCsv(
  file: HeldFile,
  header: (names: string[]) => string[],
  onProgress?: (bytesRead: number) => void,
): Promise<PlainCsv> {
  const input = file.stream(CHUNK);
  let bytes = 0;
  input.on("data", (chunk) => {
    bytes += chunk.length;
    onProgress?.(bytes);
  });
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let rest: Buffer = Buffer.alloc(0);
  let line = 1;
  // the header: the first line that is not empty (csv-parse skips empty lines before it too)
  let columns: string[] | undefined;
  let empty = false;
  try {
    while (!columns) {
      let end = rest.indexOf(LF);
      while (end === -1) {
        if (rest.length > MAX_LINE_BYTES) throw tooLong(line);
        const next = await chunks.next();
        if (next.done) break;
        rest = Buffer.concat([rest, next.value]);
        end = rest.indexOf(LF);
      }
      if ((end === -1 ? rest.length : end) > MAX_LINE_BYTES) throw tooLong(line);
      const text = rest
        .subarray(0, end === -1 ? rest.length : end)
        .toString("utf8")
        .replace(/^\uFEFF/, "")
        .replace(/\r$/, "");
      rest = end === -1 ? Buffer.alloc(0) : rest.subarray(end + 1);
      if (text !== "") columns = header(text.split(",").map((h) => h.trim()));
      else if (end === -1) {
        // an empty file: no header, no rows (as csv-parse reads it)
        columns = [];
        empty = true;
      }
      line++;
    }
  } catch (err) {
    input.destroy();
    throw err;
  }
  async function* batches(): AsyncGenerator<BatchInput> {
    if (empty) {
      input.destroy();
      return;
    }
    try {
      let firstLine = line;
      for (;;) {
        const next = await chunks.next();
        if (next.done) break;
        const data = rest.length > 0 ? Buffer.concat([rest, next.value]) : next.value;
        const last = data.lastIndexOf(LF);
        if (last === -1) {
          if (data.length > MAX_LINE_BYTES) throw tooLong(firstLine);
          rest = data;
          continue;
        }
        // copied: the chunk's memory goes back to the stream, the lines go to another thread
        const text = Uint8Array.prototype.slice.call(data, 0, last + 1);
        rest = Buffer.from(data.subarray(last + 1));
        const lines = countLines(text, firstLine);
        if (rest.length > MAX_LINE_BYTES) throw tooLong(firstLine + lines);
        yield { kind: "lines", firstLine, text };
        firstLine += lines;
      }
      // read to its end: refused now, before its last lines are applied, if it was written to meanwhile
      file.assertUnchanged();
      // what is left may be many lines (a file read whole with its header) and a last one without a line feed
      countLines(rest, firstLine);
      if (rest.length > 0) yield { kind: "lines", firstLine, text: Uint8Array.prototype.slice.call(rest) };
    } finally {
      input.destroy();
    }
  }
  return { columns, batches: batches() };
}

/** The line feeds in `text`, whose first line is `firstLine`; refuses a line too long on the way (the last too). */
function countLines(text: Uint8Array, firstLine: number): number {
  const buffer = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  let n = 0;
  let start = 0;
  for (let i = buffer.indexOf(LF); i !== -1; i = buffer.indexOf(LF, i + 1)) {
    if (i - start > MAX_LINE_BYTES) throw tooLong(firstLine + n);
    start = i + 1;
    n++;
  }
  if (buffer.length - start > MAX_LINE_BYTES) throw tooLong(firstLine + n);
  return n;
}
