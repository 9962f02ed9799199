/**
 * Parsers for the rule tables kept as data in tables/ (identity-rules.md §3.2 and Appendix A).
 * Parsing is pure; loadRuleTables() is the one place that reads the files.
 */
import fs from "node:fs";
import path from "node:path";
import { tablesDir } from "../common/paths";

export type Carrier = "mobile" | "telecom" | "cucc" | "broadnet" | "";
export type SegmentCategory = "public" | "datacard" | "mvno" | "iot" | "satellite" | "emergency" | "unallocated";
export type SegmentResult = "valid" | "unsupported" | "invalid";
export type PolicySwitch = "dataCards" | "broadnet";

export interface SegmentRow {
  prefix: string;
  lengths: readonly number[];
  carrier: Carrier;
  category: SegmentCategory;
  result: SegmentResult;
  policy: PolicySwitch | null;
}

export interface RuleTables {
  /** prefix → rows (one per prefix; lengths say which number lengths it covers) */
  segments: ReadonlyMap<string, SegmentRow>;
  /** four-digit address-code prefixes allowed by the level-1 region check */
  regionPrefixes: ReadonlySet<string>;
}

const CARRIERS = new Set(["mobile", "telecom", "cucc", "broadnet"]);
const CATEGORIES = new Set(["public", "datacard", "mvno", "iot", "satellite", "emergency", "unallocated"]);
const RESULTS = new Set(["valid", "unsupported", "invalid"]);

function dataLines(text: string): Array<{ line: string; no: number }> {
  return text
    .split("\n")
    .map((line, i) => ({ line: line.trim(), no: i + 1 }))
    .filter(({ line }) => line !== "" && !line.startsWith("#"));
}

export function parseSegmentTable(text: string): Map<string, SegmentRow> {
  const rows = new Map<string, SegmentRow>();
  for (const { line, no } of dataLines(text)) {
    const [prefix, lengths, carrier, category, result, policy] = line.split("\t");
    const bad = (what: string) => new Error(`segments table line ${no}: ${what}`);
    if (!prefix || !/^1\d{2,4}$/.test(prefix)) throw bad("prefix must be 3 to 5 digits starting with 1");
    if (rows.has(prefix)) throw bad(`duplicate prefix ${prefix}`);
    const lens = (lengths ?? "").split(",").map(Number);
    if (lens.some((n) => n !== 11 && n !== 13)) throw bad("lengths must be 11 and/or 13");
    if (carrier !== "-" && !CARRIERS.has(carrier ?? "")) throw bad(`unknown carrier ${carrier}`);
    if (!CATEGORIES.has(category ?? "")) throw bad(`unknown category ${category}`);
    if (!RESULTS.has(result ?? "")) throw bad(`unknown result ${result}`);
    if (policy !== "-" && policy !== "dataCards" && policy !== "broadnet") throw bad(`unknown policy ${policy}`);
    rows.set(prefix, {
      prefix,
      lengths: lens,
      carrier: carrier === "-" ? "" : (carrier as Carrier),
      category: category as SegmentCategory,
      result: result as SegmentResult,
      policy: policy === "-" ? null : policy,
    });
  }
  return rows;
}

export function parseRegionPrefixes(text: string): Set<string> {
  const prefixes = new Set<string>();
  for (const { line, no } of dataLines(text)) {
    const [, province, cities] = /^(\d{2}):((?:\s+\d{2})+)$/.exec(line) ?? [];
    if (province === undefined || cities === undefined) throw new Error(`region prefixes line ${no}: expected "PP: CC CC …"`);
    for (const cc of cities.trim().split(/\s+/)) prefixes.add(province + cc);
  }
  return prefixes;
}

let cached: RuleTables | undefined;

export function loadRuleTables(): RuleTables {
  cached ??= {
    segments: parseSegmentTable(fs.readFileSync(path.join(tablesDir, "segments.tsv"), "utf8")),
    regionPrefixes: parseRegionPrefixes(fs.readFileSync(path.join(tablesDir, "region-prefixes.txt"), "utf8")),
  };
  return cached;
}
