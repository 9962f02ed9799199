/** Identifiers in Tencent Cloud's shapes: numeric account ids, AKID… SecretIds, 32-character SecretKeys. */
import { randomInt } from "node:crypto";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomString(length: number, alphabet = ALNUM): string {
  let s = "";
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export const newAccountId = (): string => `1${randomString(11, "0123456789")}`;
export const newSecretId = (): string => `AKID${randomString(32)}`;
export const newSecretKey = (): string => randomString(32);
let topUpsMade = 0;
/** Sorts by time, then by order made in this process: two top-ups in one millisecond are listed in the order made. */
export const newTopUpId = (atMs: number): string =>
  `tu-${atMs.toString(36).padStart(9, "0")}${(topUpsMade++ % 36 ** 4).toString(36).padStart(4, "0")}${randomString(6, "0123456789abcdef")}`;

export function isPlausibleSecretId(s: string): boolean {
  return /^[A-Za-z0-9_-]{8,128}$/.test(s);
}
