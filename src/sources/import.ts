/**
 * Importing subscriber records (CSV with a header row, or NDJSON): each row goes through the same rules as a
 * request, then only keyed hashes are stored. Rejections carry the line number and a reason, never the value.
 */
import fs from "node:fs";
import { isJsonObject } from "../common/stored-json";
import readline from "node:readline";
import type { Readable } from "node:stream";
import { checkCsvFile, csvRows } from "./csv";
import { checkIdCard } from "../rules/idcard";
import { checkName } from "../rules/name";
import { classifyPhone } from "../rules/phone";
import type { PrecheckPolicy } from "../rules/policy";
import type { Carrier, RuleTables } from "../rules/tables";
import type { Keyring } from "../common/keyring";
import type { LineStatus, RecordStatus, StoredRecord } from "../store/model";
import { recordDigests } from "./digests";
import type { RecordRows } from "../store/ports";

export interface ImportSummary {
  read: number;
  imported: number;
  replaced: number;
  rejected: number;
  /** the first MAX_LISTED rejections */
  rejections: Array<{ line: number; reason: string }>;
}

export interface ImportOptions {
  tables: RuleTables;
  policy: PrecheckPolicy;
  todayChina: string;
  onProgress?: (bytesRead: number) => void;
}

const BATCH = 5000;
const MAX_LISTED = 1000;
const COLUMNS = ["phone", "name", "idcard", "isp", "status", "line_status", "network_since"];
// A Map, not an object literal: an isp column reading `constructor` is no carrier.
const CARRIERS: ReadonlyMap<string, Carrier> = new Map([
  ["mobile", "mobile"],
  ["telecom", "telecom"],
  ["cucc", "cucc"],
  ["unicom", "cucc"],
  ["broadnet", "broadnet"],
  ["移动", "mobile"],
  ["电信", "telecom"],
  ["联通", "cucc"],
  ["广电", "broadnet"],
  ["", ""],
]);
const STATUSES = new Set<RecordStatus>(["active", "suspended", "busy"]);
const LINE_STATUSES = new Set<LineStatus>(["normal", "suspended", "cancelled", "not-on-network", "unusable"]);

/** A calendar date YYYY-MM-DD that exists and is not after `todayChina` (YYYYMMDD). */
function isPastDate(value: string, todayChina: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value && `${m[1]}${m[2]}${m[3]}` <= todayChina;
}

export type RowVerdict = { ok: true; record: StoredRecord } | { ok: false; reason: string };

/** A row the rules accepted: its values normalised, not yet hashed. */
export interface CheckedRecord {
  phone: string;
  name: string;
  idCard: string;
  carrier: Carrier;
  status: RecordStatus;
  lineStatus?: LineStatus;
  networkSince?: string;
}

/** The rules of a record, without hashing (a seed checks every record before it writes any). */
export function checkRecord(
  row: Record<string, unknown>,
  opts: ImportOptions,
): { ok: true; record: CheckedRecord } | { ok: false; reason: string } {
  const { phone, name, idcard } = row;
  const isp = row.isp ?? "";
  const status = row.status === undefined || row.status === "" ? "active" : row.status;
  if (typeof phone !== "string" || typeof name !== "string" || typeof idcard !== "string") {
    return { ok: false, reason: "phone, name and idcard must all be present as text" };
  }
  const p = classifyPhone(phone, opts.tables.segments, opts.policy);
  if (p.kind === "invalid") return { ok: false, reason: "phone is not a mainland mobile number" };
  if (p.kind === "unsupported") return { ok: false, reason: `phone is in a ${p.category} segment, which is never verified` };
  const id = checkIdCard(idcard, opts.todayChina, opts.tables.regionPrefixes, opts.policy);
  if (id.kind === "invalid") return { ok: false, reason: `idcard is malformed (${id.reason})` };
  const n = checkName(name, opts.policy);
  if (n.kind === "invalid") return { ok: false, reason: `name is malformed (${n.reason})` };
  const carrier = typeof isp === "string" ? CARRIERS.get(isp.trim().toLowerCase()) : undefined;
  if (carrier === undefined) return { ok: false, reason: "isp must be mobile, telecom, cucc, broadnet or empty" };
  if (typeof status !== "string" || !STATUSES.has(status as RecordStatus)) {
    return { ok: false, reason: "status must be active, suspended or busy" };
  }
  const lineStatus = row.line_status ?? "";
  if (typeof lineStatus !== "string" || (lineStatus !== "" && !LINE_STATUSES.has(lineStatus as LineStatus))) {
    return { ok: false, reason: "line_status must be normal, suspended, cancelled, not-on-network, unusable or empty" };
  }
  const networkSince = row.network_since ?? "";
  if (typeof networkSince !== "string" || (networkSince !== "" && !isPastDate(networkSince, opts.todayChina))) {
    return { ok: false, reason: "network_since must be a date YYYY-MM-DD, not after today, or empty" };
  }
  return {
    ok: true,
    record: {
      phone: p.national,
      name: n.normalized,
      idCard: id.id18,
      // The segment's carrier when no isp is given: a hashed input (EncryptedPhoneVerification) has no number to
      // look the segment up by, so the record must say it.
      carrier: carrier || p.carrier,
      status: status as RecordStatus,
      ...(lineStatus !== "" && { lineStatus: lineStatus as LineStatus }),
      ...(networkSince !== "" && { networkSince }),
    },
  };
}

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

/** A row of an input file with its line number, or the reason it could not be read as one. */
export type Row = { line: number; fields: Record<string, unknown> } | { line: number; error: string };

function importColumns(header: string[]): string[] {
  const names = header.map((h) => h.toLowerCase());
  const unknown = names.filter((h) => !COLUMNS.includes(h));
  if (unknown.length > 0)
    throw new Error(
      `Unknown CSV column(s): ${unknown.join(", ")}. Expected phone,name,idcard[,isp][,status][,line_status][,network_since].`,
    );
  for (const required of ["phone", "name", "idcard"]) {
    if (!names.includes(required)) throw new Error(`The CSV header must name the column ${required}.`);
  }
  return names;
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

function looksLikeNdjson(file: string): boolean {
  if (/\.(ndjson|jsonl)$/i.test(file)) return true;
  if (/\.csv$/i.test(file)) return false;
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(256);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return head
      .subarray(0, n)
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .trimStart()
      .startsWith("{");
  } finally {
    fs.closeSync(fd);
  }
}

/** Imports a CSV or NDJSON file; a CSV file that cannot be read as rows is refused whole (CsvFileError), before any row. */
export async function importRecordsFile(
  file: string,
  records: Pick<RecordRows, "upsert">,
  keyring: Keyring,
  opts: ImportOptions,
): Promise<ImportSummary> {
  return importRows(await readRecordsFile(file, opts.onProgress), records, keyring, opts);
}

/** The rows of a CSV or NDJSON records file; a CSV file that cannot be read as rows is refused whole (CsvFileError). */
export async function readRecordsFile(file: string, onProgress?: (bytesRead: number) => void): Promise<AsyncIterable<Row>> {
  const ndjson = looksLikeNdjson(file);
  if (!ndjson) await checkCsvFile(file);
  const input = fs.createReadStream(file);
  let bytes = 0;
  input.on("data", (chunk) => {
    bytes += chunk.length;
    onProgress?.(bytes);
  });
  return ndjson ? ndjsonRows(input) : csvRows(input, importColumns);
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
