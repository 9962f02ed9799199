/** China-time calendar days (UTC+8, no daylight saving), the days of usage, the ledger's filters and the daily caps. */
import { InputError } from "../common/input-error";

const CHINA_OFFSET_MS = 8 * 3600_000;
export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The China-time day of a moment, YYYY-MM-DD. */
export const chinaDay = (ms: number): string => new Date(ms + CHINA_OFFSET_MS).toISOString().slice(0, 10);

/** The first millisecond of a China-time day given as YYYY-MM-DD. */
export function chinaDayStart(day: string): number {
  const ms = DAY_PATTERN.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day)
    throw new InputError(`${day.slice(0, 10)} is not a day YYYY-MM-DD.`);
  return ms - CHINA_OFFSET_MS;
}

/** [fromMs, toMs) of the days from `from` to `to`, both included; either may be open. */
export function chinaDayRange(from: string | undefined, to: string | undefined): { fromMs?: number; toMs?: number } {
  const fromMs = from === undefined ? undefined : chinaDayStart(from);
  const toMs = to === undefined ? undefined : chinaDayStart(to) + 86_400_000;
  if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw new InputError("from is a day on or before to.");
  return { ...(fromMs !== undefined && { fromMs }), ...(toMs !== undefined && { toMs }) };
}
