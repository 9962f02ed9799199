/**
 * Importing subscriber records (CSV with a header row, or NDJSON): each row goes through the same rules as a
 * request, then only keyed hashes are stored. Rejections carry the line number and a reason, never the value.
 * A file takes the bulk path (importRecordsFile: checked and hashed in worker threads, loaded all or nothing by the
 * store); rows already in memory (a seed's, the demo's, the test kit's: a few) take importRows and upsert.
 */
import { isJsonObject } from "../common/stored-json";
import readline from "node:readline";
import type { Readable } from "node:stream";
import { checkCsvFile, csvRows, isPlainCsv } from "./csv";
import { readPlainCsv } from "./csv-lines";
import { FileChangedError, HeldFile } from "./held-file";
import type { Keyring } from "../common/keyring";
import type { StoredRecord } from "../store/model";
import type { PackedRecords } from "../store/packed-records";
import { recordDigests } from "./digests";
import type { RecordRows } from "../store/ports";
import type { BatchInput, BatchOutput, Row } from "./import-batch";
import { inlinePackers, type Packers, workerPackers } from "./import-threads";
import { checkRecord, importColumns, type RecordRules } from "./record-rules";

export type { Row } from "./import-batch";
export { checkRecord, type CheckedRecord } from "./record-rules";

export interface ImportSummary {
  read: number;
  imported: number;
  replaced: number;
  rejected: number;
  /** the first MAX_LISTED rejections */
  rejections: Array<{ line: number; reason: string }>;
}

export interface ImportOptions extends RecordRules {
  onProgress?: (bytesRead: number) => void;
  /** aborted: the import stops at its next batch and applies nothing (the server stopping) */
  signal?: AbortSignal;
}

const BATCH = 5000;
const MAX_LISTED = 1000;
export type RowVerdict = { ok: true; record: StoredRecord } | { ok: false; reason: string };

export function toStoredRecord(row: Record<string, unknown>, keyring: Keyring, opts: ImportOptions): RowVerdict {
  const checked = checkRecord(row, opts);
  if (!checked.ok) return checked;
  const { phone, name, idCard, ...rest } = checked.record;
  return {
    ok: true,
    record: {
      phoneHash: keyring.hash("phone", phone),
      nameHash: keyring.hash("name", name),
      idCardHash: keyring.hash("idcard", idCard),
      ...rest,
      digests: recordDigests(keyring, phone, name, idCard),
    },
  };
}

async function* ndjsonRows(input: Readable): AsyncGenerator<Row> {
  let line = 0;
  for await (const text of readline.createInterface({ input, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { line, error: "not valid JSON" };
      continue;
    }
    if (isJsonObject(value)) yield { line, fields: value };
    else yield { line, error: "not a JSON object" };
  }
}

function looksLikeNdjson(file: HeldFile): boolean {
  if (/\.(ndjson|jsonl)$/i.test(file.path)) return true;
  if (/\.csv$/i.test(file.path)) return false;
  return file
    .head(256)
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trimStart()
    .startsWith("{");
}

/** Rows a batch when another parser reads the file (quoted CSV, NDJSON) */
const ROWS_A_BATCH = 2000;
/** A smaller file is packed on the calling thread: starting worker threads would take longer than its hashes. */
const WORKERS_FROM_BYTES = 1 << 20;

/**
 * Imports a CSV or NDJSON file all or nothing: every row is checked and hashed (in worker threads for a large
 * file), the accepted ones are staged, and the store applies them in one step at the end. A CSV file that cannot
 * be read as rows is refused whole (CsvFileError) before any row; a failure or a kill before the end applies
 * nothing. Rejected rows are counted and listed, the others applied.
 */
export async function importRecordsFile(
  file: string,
  records: Pick<RecordRows, "load">,
  keyring: Keyring,
  opts: ImportOptions,
): Promise<ImportSummary> {
  const summary: ImportSummary = { read: 0, imported: 0, replaced: 0, rejected: 0, rejections: [] };
  const rules = { tables: opts.tables, policy: opts.policy, todayChina: opts.todayChina };
  let columns: readonly string[] = [];
  let inputs: AsyncIterable<BatchInput>;
  // held from the first look to the last row: the file checked is the file read, however long the load's turn takes
  const held = HeldFile.open(file);
  let packers: Packers | undefined;
  try {
    if (!looksLikeNdjson(held) && (await isPlainCsv(held))) {
      const plain = await readPlainCsv(held, importColumns, opts.onProgress);
      columns = plain.columns;
      inputs = plain.batches;
    } else {
      inputs = rowBatches(await readRecordsFile(held, opts.onProgress));
    }
    const context = { hashKey: keyring.hashKeyForImport(), rules, columns };
    packers = held.size >= WORKERS_FROM_BYTES ? workerPackers(context) : inlinePackers(context);
    const { loaded, replaced } = await records.load(packedBatches(inputs, packers, summary, opts.signal), opts.signal);
    summary.imported = loaded;
    summary.replaced = replaced;
    return summary;
  } catch (err) {
    // refused at the end of its rows: the load failed with it, so nothing was applied
    if (err instanceof FileChangedError)
      throw new FileChangedError("so nothing of it was applied; import it again once it is written", { cause: err });
    throw err;
  } finally {
    // ends whatever still reads it (the plain reader reads from its header on, even if no batch was asked for)
    await held.close();
    await packers?.close();
  }
}

async function* rowBatches(rows: AsyncIterable<Row>): AsyncGenerator<BatchInput> {
  let batch: Row[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= ROWS_A_BATCH) {
      yield { kind: "rows", rows: batch };
      batch = [];
    }
  }
  if (batch.length > 0) yield { kind: "rows", rows: batch };
}

/** The packed records of each batch, in file order, with at most `packers.depth` batches being packed meanwhile. */
async function* packedBatches(
  inputs: AsyncIterable<BatchInput>,
  packers: Packers,
  summary: ImportSummary,
  signal: AbortSignal | undefined,
): AsyncGenerator<PackedRecords> {
  const pending: Array<Promise<BatchOutput>> = [];
  const take = (output: BatchOutput): PackedRecords => {
    summary.read += output.read;
    summary.rejected += output.rejections.length;
    for (const r of output.rejections) if (summary.rejections.length < MAX_LISTED) summary.rejections.push(r);
    return { packed: output.packed, count: output.count };
  };
  for await (const input of inputs) {
    signal?.throwIfAborted();
    const packing = packers.pack(input);
    // awaited in turn below; until then a failure must not count as unhandled
    packing.catch(() => undefined);
    pending.push(packing);
    const first = pending.length >= packers.depth ? pending.shift() : undefined;
    if (first) yield take(await first);
  }
  for (let first = pending.shift(); first; first = pending.shift()) yield take(await first);
  signal?.throwIfAborted();
}

/**
 * The rows of a CSV or NDJSON records file; a CSV file that cannot be read as rows is refused whole (CsvFileError),
 * and one written to while its rows were read is refused at their end (FileChangedError). The file stays the caller's
 * to close.
 */
export async function readRecordsFile(file: HeldFile, onProgress?: (bytesRead: number) => void): Promise<AsyncIterable<Row>> {
  const ndjson = looksLikeNdjson(file);
  if (!ndjson) await checkCsvFile(file);
  return (async function* () {
    // Read from the first row asked for (a load may ask minutes later, once its turn comes). Progress is the bytes
    // read so far, taken as rows leave: a listener of its own would start the file flowing before its reader.
    const input = file.stream();
    let reported = 0;
    try {
      for await (const row of ndjson ? ndjsonRows(input) : csvRows(input, importColumns)) {
        if (input.bytesRead !== reported) {
          reported = input.bytesRead;
          onProgress?.(reported);
        }
        yield row;
      }
      file.assertUnchanged();
    } finally {
      // a load that stops early (a refused header, a failure, a stop) ends its reading (the file is the caller's)
      input.destroy();
    }
  })();
}

export async function importRows(
  rows: AsyncIterable<Row>,
  records: Pick<RecordRows, "upsert">,
  keyring: Keyring,
  opts: ImportOptions,
): Promise<ImportSummary> {
  const summary: ImportSummary = { read: 0, imported: 0, replaced: 0, rejected: 0, rejections: [] };
  let batch: StoredRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const { replaced } = await records.upsert(batch);
    summary.imported += batch.length;
    summary.replaced += replaced;
    batch = [];
  };
  for await (const row of rows) {
    summary.read++;
    const verdict: RowVerdict = "error" in row ? { ok: false, reason: row.error } : toStoredRecord(row.fields, keyring, opts);
    if (verdict.ok) {
      batch.push(verdict.record);
      if (batch.length >= BATCH) await flush();
    } else {
      summary.rejected++;
      if (summary.rejections.length < MAX_LISTED) summary.rejections.push({ line: row.line, reason: verdict.reason });
    }
  }
  await flush();
  return summary;
}

export function rowsFrom(records: ReadonlyArray<Record<string, string>>): AsyncIterable<Row> {
  return (async function* () {
    let line = 0;
    for (const fields of records) yield { line: ++line, fields };
  })();
}
