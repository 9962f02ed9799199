/** PRC resident identity numbers and the documents sharing their layout: identity-rules.md §1. */
import { INPUT_BOUNDS } from "./input-bounds";
import type { PrecheckPolicy } from "./policy";

export type IdDocument = "resident" | "hk" | "mo" | "tw" | "foreign-pr";
export type IdCheck = { kind: "ok"; id18: string; doc: IdDocument } | { kind: "invalid"; reason: string };

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const ID_CHECK = "10X98765432";
const PROVINCES = new Set([
  "11",
  "12",
  "13",
  "14",
  "15",
  "21",
  "22",
  "23",
  "31",
  "32",
  "33",
  "34",
  "35",
  "36",
  "37",
  "41",
  "42",
  "43",
  "44",
  "45",
  "46",
  "50",
  "51",
  "52",
  "53",
  "54",
  "61",
  "62",
  "63",
  "64",
  "65",
]);
const PERMITS: ReadonlyMap<string, IdDocument> = new Map([
  ["81", "hk"],
  ["82", "mo"],
  ["83", "tw"],
]);

/** ISO 7064 MOD 11-2 check character of the first 17 digits (§1.2). */
export function idCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * (ID_WEIGHTS[i] ?? 0);
  return ID_CHECK.charAt(sum % 11);
}

/**
 * NFKC, trim, upper-case a final x (§1.3). Whatever is left is judged by checkIdCard. An input past its bound is
 * no identity number however normalised: it comes back as it is.
 */
export function normaliseIdCard(input: string): string {
  if (input.length > INPUT_BOUNDS.idCard) return input;
  const s = input.normalize("NFKC").trim();
  return s.endsWith("x") ? `${s.slice(0, -1)}X` : s;
}

function isRealDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
  return d <= days;
}

/**
 * @param todayChina today's date in China time as YYYYMMDD: births after it are impossible (§1.4).
 */
export function checkIdCard(input: string, todayChina: string, regionPrefixes: ReadonlySet<string>, policy: PrecheckPolicy): IdCheck {
  if (input.length > INPUT_BOUNDS.idCard) return { kind: "invalid", reason: "too long" };
  const id = normaliseIdCard(input);
  if (!/^[0-9]{17}[0-9X]$/.test(id)) return { kind: "invalid", reason: "layout" };

  let doc: IdDocument = "resident";
  const province = id.slice(0, 2);
  const permit = PERMITS.get(province);
  if (id[0] === "9") {
    if (!policy.foreignPermanentResident) return { kind: "invalid", reason: "foreigner numbers not accepted" };
    if (!PROVINCES.has(id.slice(1, 3))) return { kind: "invalid", reason: "region" };
    doc = "foreign-pr";
  } else if (permit) {
    if (id.slice(2, 6) !== "0000") return { kind: "invalid", reason: "region" };
    doc = permit;
  } else {
    if (!PROVINCES.has(province)) return { kind: "invalid", reason: "region" };
    if (policy.regionLevel >= 1 && !regionPrefixes.has(id.slice(0, 4))) return { kind: "invalid", reason: "region" };
  }

  const birth = id.slice(6, 14);
  const [y, m, d] = [Number(birth.slice(0, 4)), Number(birth.slice(4, 6)), Number(birth.slice(6, 8))];
  if (!isRealDate(y, m, d) || birth < "19000101" || birth > todayChina) return { kind: "invalid", reason: "birth date" };
  if (idCheckChar(id) !== id[17]) return { kind: "invalid", reason: "check character" };
  return { kind: "ok", id18: id, doc };
}
