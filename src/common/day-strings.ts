/**
 * Strings of a timestamp's calendar day, formatted once per day: Date#toISOString costs about 7,000 instructions
 * (V8 formats it through snprintf) and every request needed it three times (the signature's scope date, the China
 * day of the daily caps and rules, the log line's time), always for the same day.
 */
const MS_PER_DAY = 86_400_000;
/** the largest |ms| a Date holds; past it, and for fractions and NaN, the formatter itself is called (as Date, it truncates or throws) */
const MAX_DATE_MS = 8.64e15;

/** `format` of the day's first millisecond, remembered for the last day asked: `format` must only use the date. */
export function perDay(format: (dayStartMs: number) => string): (ms: number) => string {
  let day = Number.NaN;
  let text = "";
  return (ms) => {
    if (!Number.isInteger(ms) || Math.abs(ms) > MAX_DATE_MS) return format(ms);
    const d = Math.floor(ms / MS_PER_DAY);
    if (d !== day) {
      text = format(d * MS_PER_DAY);
      day = d;
    }
    return text;
  };
}

const isoDatePart = perDay((dayStartMs) => new Date(dayStartMs).toISOString().slice(0, -"T00:00:00.000Z".length));
const two = (n: number) => (n < 10 ? `0${n}` : String(n));
const three = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

/** The same string as `new Date(ms).toISOString()`, with the date part formatted once per day. */
export function isoString(ms: number): string {
  if (!Number.isInteger(ms) || Math.abs(ms) > MAX_DATE_MS) return new Date(ms).toISOString();
  const date = isoDatePart(ms);
  const inDay = ms - Math.floor(ms / MS_PER_DAY) * MS_PER_DAY;
  const s = Math.floor(inDay / 1000);
  return `${date}T${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}.${three(inDay % 1000)}Z`;
}
