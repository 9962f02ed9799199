/**
 * Id2Meta's partial md5 form (alibaba-cloudauth.md §1.2): IdentifyNum is the first 6 characters in plain, the MD5 of
 * the 8-digit birth date, the last 4 in plain (42 characters); UserName is the MD5 of the first character (UTF-8)
 * followed by the rest in plain. The hidden parts take few guesses — a birth date is one of some 73,000 calendar
 * dates, a name's first character one of the Unified_Ideograph code points or a Latin letter — so a digest row kept
 * at import would protect nothing. Instead the plain values are recovered from tables of every candidate's MD5,
 * built once per process on the first partial call, and the call is answered as a plain one (our decision, replacing
 * §8.5's digest rows). The recovered values are personal data: callers treat them as they treat plain inputs.
 */
import { hash } from "node:crypto";
import { setImmediate as yieldToRequests } from "node:timers/promises";
import { MD5_HEX } from "./translated";

/**
 * From the rules' earliest birth date (identity-rules.md §1.4). Their latest is today, which moves: the table runs
 * ahead of it, and the rules refuse a date after today as they do in plain.
 */
const FIRST_YEAR = 1900;
const LAST_YEAR = 2099;
/** Candidates hashed between two yields, so building never holds other requests for long. */
const SLICE = 4096;
const DIGEST_HEX_LENGTH = 32;
const HAN = /\p{Unified_Ideograph}/u;
const LATIN_LETTER = /^(?=\p{L})\p{Script=Latin}$/u;

const md5 = (text: string): Buffer => hash("md5", text, "buffer");

/**
 * Candidates by their digest, keyed by the digest's first 30 bits: a number V8 keeps unboxed (a 48-bit key held the
 * same tables in 10.3 MB instead of 7.5, bench/partial-md5.ts). The few candidates sharing a key with another are
 * kept beside it; a key's candidates are confirmed against the whole digest.
 */
export class DigestTable {
  private readonly byKey = new Map<number, number>();
  private readonly sharing = new Map<number, number[]>();

  constructor(private readonly textOf: (candidate: number) => string) {}

  add(candidate: number): void {
    const key = md5(this.textOf(candidate)).readUInt32BE(0) >>> 2;
    const first = this.byKey.get(key);
    if (first === undefined) this.byKey.set(key, candidate);
    else {
      const others = this.sharing.get(key);
      if (others) others.push(candidate);
      else this.sharing.set(key, [candidate]);
    }
  }

  /** The candidate's text whose MD5 is `digest`, or undefined. */
  find(digest: Buffer): string | undefined {
    if (digest.length !== 16) return undefined;
    const key = digest.readUInt32BE(0) >>> 2;
    const first = this.byKey.get(key);
    if (first === undefined) return undefined;
    for (const candidate of [first, ...(this.sharing.get(key) ?? [])]) {
      const text = this.textOf(candidate);
      if (md5(text).equals(digest)) return text;
    }
    return undefined;
  }

  get size(): number {
    return this.byKey.size + [...this.sharing.values()].reduce((n, more) => n + more.length, 0);
  }
}

function* calendarDates(): Generator<number> {
  for (let y = FIRST_YEAR; y <= LAST_YEAR; y++) {
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    for (let m = 1; m <= 12; m++) for (let d = 1; d <= (lengths[m - 1] ?? 0); d++) yield y * 10_000 + m * 100 + d;
  }
}

/** Not a candidate: SLICE code points were scanned since the last, a chance to let requests run. */
const SCANNED = -1;

/** Every code point a name may start with: a Unified_Ideograph (a Han name) or a Latin letter (a Latin name). */
function* firstCharacters(): Generator<number> {
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp % SLICE === 0) yield SCANNED;
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    if (HAN.test(c) || LATIN_LETTER.test(c)) yield cp;
  }
}

async function tableOf(candidates: Iterable<number>, textOf: (candidate: number) => string): Promise<DigestTable> {
  const table = new DigestTable(textOf);
  let sinceYield = 0;
  for (const candidate of candidates) {
    if (candidate !== SCANNED) table.add(candidate);
    if (candidate === SCANNED || ++sinceYield === SLICE) {
      sinceYield = 0;
      await yieldToRequests();
    }
  }
  return table;
}

export interface PartialMd5Tables {
  birthDates: DigestTable;
  firstCharacters: DigestTable;
}

let building: Promise<PartialMd5Tables> | undefined;
let built: PartialMd5Tables | undefined;

/** The tables, built on the first call (they are the same for every server in the process: Unicode and the calendar). */
export function partialMd5Tables(): Promise<PartialMd5Tables> {
  building ??= (async () => {
    const birthDates = await tableOf(calendarDates(), String);
    const characters = await tableOf(firstCharacters(), (cp) => String.fromCodePoint(cp));
    built = { birthDates, firstCharacters: characters };
    return built;
  })();
  return building;
}

/** A digest field: trimmed, 32 hex characters in either case (§8.5). */
function digestOf(hex: string): Buffer | undefined {
  return MD5_HEX.test(hex) ? Buffer.from(hex, "hex") : undefined;
}

/**
 * The identity number a partial IdentifyNum hides; undefined when no date matches. A lower-case check letter is left
 * to the rules, which upper-case it as they do in plain (identity-rules.md §1.3).
 */
export function recoverIdCard(partial: string, tables: PartialMd5Tables): string | undefined {
  const given = partial.trim();
  if (given.length !== 6 + DIGEST_HEX_LENGTH + 4) return undefined;
  const digest = digestOf(given.slice(6, 6 + DIGEST_HEX_LENGTH));
  const birth = digest && tables.birthDates.find(digest);
  if (birth === undefined) return undefined;
  return `${given.slice(0, 6)}${birth}${given.slice(6 + DIGEST_HEX_LENGTH)}`;
}

/** The name a partial UserName hides; undefined when no character matches. */
export function recoverName(partial: string, tables: PartialMd5Tables): string | undefined {
  const given = partial.trim();
  const digest = digestOf(given.slice(0, DIGEST_HEX_LENGTH));
  const first = digest && tables.firstCharacters.find(digest);
  return first === undefined ? undefined : `${first}${given.slice(DIGEST_HEX_LENGTH)}`;
}

/**
 * The plain fields of a partial Id2Meta call. A field that hides no candidate comes back empty, which the rules
 * refuse as they refuse an invalid identity number or name in plain.
 */
export async function plainFields(identifyNum: string, userName: string): Promise<{ IdCard: string; Name: string }> {
  const tables = await partialMd5Tables();
  return { IdCard: recoverIdCard(identifyNum, tables) ?? "", Name: recoverName(userName, tables) ?? "" };
}

/** recoverIdCard once the tables are built, else undefined: for what may not wait (the test kit's subjects). */
export function recoverIdCardIfBuilt(partial: string): string | undefined {
  return built && recoverIdCard(partial, built);
}
