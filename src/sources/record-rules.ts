/**
 * The rules a record of an import file must pass (the same as a request's), and the columns a file may have.
 * Used by the import on the main thread and in its worker threads, and by a seed's check before it writes.
 */
import { checkIdCard } from "../rules/idcard";
import { checkName } from "../rules/name";
import { classifyPhone } from "../rules/phone";
import type { PrecheckPolicy } from "../rules/policy";
import type { Carrier, RuleTables } from "../rules/tables";
import type { LineStatus, RecordStatus } from "../store/model";

export interface RecordRules {
  tables: RuleTables;
  policy: PrecheckPolicy;
  todayChina: string;
}

export const COLUMNS = ["phone", "name", "idcard", "isp", "status", "line_status", "network_since"];
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
  opts: RecordRules,
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

/** The column names of a CSV header (trimmed), or an error naming what is wrong with it. */
export function importColumns(header: string[]): string[] {
  const names = header.map((h) => h.toLowerCase());
  // Named by position, never by text: a file without a header has a record on its first line.
  const unknown = names.flatMap((h, i) => (COLUMNS.includes(h) ? [] : [i + 1]));
  if (unknown.length > 0)
    throw new Error(
      `Unknown CSV column(s): ${unknown.length === 1 ? "column" : "columns"} ${unknown.join(", ")} of ${names.length}. ` +
        "The first line must be a header: phone,name,idcard[,isp][,status][,line_status][,network_since].",
    );
  for (const required of ["phone", "name", "idcard"]) {
    if (!names.includes(required)) throw new Error(`The CSV header must name the column ${required}.`);
  }
  return names;
}
