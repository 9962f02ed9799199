/** Personal names: identity-rules.md §2.3. */
import { INPUT_BOUNDS } from "./input-bounds";
import type { PrecheckPolicy } from "./policy";

export type NameCheck = { kind: "ok"; normalized: string; script: "Han" | "Latin" } | { kind: "invalid"; reason: string };

/** characters of a Han name at most, middle dots included (§2.3) */
const HAN_NAME_MAX = 32;
const MIDDLE_DOT = "\u00B7";
// §2.2: look-alikes of the interpunct that reach us from other encodings and input methods.
const DOT_VARIANTS = /[\u00B7\u0387\u30FB\uFF65\u2022\u2027\u2219\u22C5\u2E31]/gu;
const VARIATION_SELECTOR = /(\p{Unified_Ideograph})[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/gu;
const FORBIDDEN_CATEGORY = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}]/u;
const NUMBER = /\p{N}/u;
const HAN = /\p{Unified_Ideograph}/u;
const LATIN = /\p{Script=Latin}/u;
const HAN_NAME = /^\p{Unified_Ideograph}+(?:\u00B7\p{Unified_Ideograph}+)*$/u;
const HAN_DOT_HAN = /(?<=\p{Unified_Ideograph})\.(?=\p{Unified_Ideograph})/gu;
const LATIN_NAME = /^\p{Script=Latin}[\p{Script=Latin}\p{M}' .-]*$/u;
const DOT_NOT_AFTER_LETTER = /(?<!\p{Script=Latin}\p{M}*)\./u;
const LATIN_LETTERS = /\p{Script=Latin}/gu;

/**
 * Names of the common ideographs only (U+4E00–U+9FFF, no dots, no spaces): NFKC leaves them as they are, each is a
 * Unified_Ideograph and none a number or a control, so every step below keeps them whole. Most names are such;
 * they skip the normalisation and the Unicode-property scans (test/name-rules.test.ts checks the two paths agree).
 */
const COMMON_HAN_NAME = new RegExp(`^[\\u4E00-\\u9FFF]{1,${HAN_NAME_MAX}}$`);

export function checkName(input: string, policy: PrecheckPolicy): NameCheck {
  if (COMMON_HAN_NAME.test(input)) {
    return input.length < policy.minHanChars ? { kind: "invalid", reason: "too short" } : { kind: "ok", normalized: input, script: "Han" };
  }
  return checkAnyName(input, policy);
}

/** Every step of §2.3, for any input: checkName's path for names outside the common ideographs (exported for the test that compares the two). */
export function checkAnyName(input: string, policy: PrecheckPolicy): NameCheck {
  if (input.length > INPUT_BOUNDS.name) return { kind: "invalid", reason: "too long" };
  const s = input.normalize("NFKC").trim().replace(VARIATION_SELECTOR, "$1");
  if (s === "") return { kind: "invalid", reason: "empty" };
  if (FORBIDDEN_CATEGORY.test(s)) return { kind: "invalid", reason: "control or invisible character" };
  if (NUMBER.test(s)) return { kind: "invalid", reason: "digit" };
  const han = HAN.test(s);
  const latin = LATIN.test(s);
  if (han === latin) return { kind: "invalid", reason: han ? "mixed scripts" : "no letters" };
  return han ? checkHanName(s, policy) : checkLatinName(s);
}

function checkHanName(s: string, policy: PrecheckPolicy): NameCheck {
  const name = s.replace(/\s+/gu, "").replace(HAN_DOT_HAN, MIDDLE_DOT).replace(DOT_VARIANTS, MIDDLE_DOT);
  if (!HAN_NAME.test(name)) return { kind: "invalid", reason: "characters outside a Han name" };
  const chars = [...name];
  const hanCount = chars.filter((c) => c !== MIDDLE_DOT).length;
  if (hanCount < policy.minHanChars) return { kind: "invalid", reason: "too short" };
  if (chars.length > HAN_NAME_MAX) return { kind: "invalid", reason: "too long" };
  return { kind: "ok", normalized: name, script: "Han" };
}

function checkLatinName(s: string): NameCheck {
  const name = s.replace(/\u2019/g, "'").replace(/\s+/gu, " ");
  if (!LATIN_NAME.test(name) || DOT_NOT_AFTER_LETTER.test(name)) return { kind: "invalid", reason: "characters outside a Latin name" };
  if ((name.match(LATIN_LETTERS) ?? []).length < 2) return { kind: "invalid", reason: "too short" };
  if ([...name].length > 64) return { kind: "invalid", reason: "too long" };
  // Latin names compare case-insensitively (§2.3 step 9).
  return { kind: "ok", normalized: name.toLowerCase(), script: "Latin" };
}
