/**
 * The console's two languages. en.json names every string; zh.json must have each of them (the type below fails the
 * build when one is missing, and test/console/build.test.ts checks both files both ways). The choice: what the
 * person picked (kept in localStorage: a language is nothing sensitive), else the browser's language.
 */
import en from "./en.json";
import zh from "./zh.json";

export type Key = keyof typeof en;
export type Lang = "en" | "zh";

const tables: Record<Lang, Record<Key, string>> = { en, zh };

const STORAGE = "sanyao.console.language";

function firstLanguage(): Lang {
  const picked = globalThis.localStorage?.getItem(STORAGE);
  if (picked === "en" || picked === "zh") return picked;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

let current: Lang = firstLanguage();

export const language = (): Lang => current;

export function setLanguage(lang: Lang): void {
  current = lang;
  localStorage.setItem(STORAGE, lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

/** the string in the current language, {name} replaced by the value given */
export function t(key: Key, values: Record<string, string | number> = {}): string {
  return tables[current][key].replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : String(value);
  });
}

/** a number with the language's grouping */
export const num = (n: number): string => n.toLocaleString(current === "zh" ? "zh-CN" : "en-US");

/** a time in the browser's zone, in the language's form */
export function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(current === "zh" ? "zh-CN" : "en-GB");
}

document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
