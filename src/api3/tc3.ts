/**
 * TC3-HMAC-SHA256 (api3-protocol.md §3.3–3.4): the arithmetic shared by the server's verifier and our client.
 */
import crypto, { createHash, createHmac } from "node:crypto";
import { perDay } from "../common/day-strings";

export const TC3_ALGORITHM = "TC3-HMAC-SHA256";
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// crypto.hash (Node 20.12+) is the one-shot digest, about twice as fast as createHash for short inputs.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: "hex") => string }).hash;

export function sha256Hex(data: string | Buffer): string {
  return oneShot ? oneShot("sha256", data, "hex") : createHash("sha256").update(data).digest("hex");
}

export interface CanonicalRequestParts {
  method: string;
  path: string;
  query: string;
  /** [lowercase name, value exactly as it is to be signed] in SignedHeaders order */
  headers: ReadonlyArray<readonly [string, string]>;
  hashedPayload: string;
}

export function canonicalRequest(p: CanonicalRequestParts): string {
  const canonicalHeaders = p.headers.map(([name, value]) => `${name}:${value}\n`).join("");
  const signedHeaders = p.headers.map(([name]) => name).join(";");
  return `${p.method}\n${p.path}\n${p.query}\n${canonicalHeaders}\n${signedHeaders}\n${p.hashedPayload}`;
}

export function stringToSign(timestamp: string, scope: string, canonical: string): string {
  return `${TC3_ALGORITHM}\n${timestamp}\n${scope}\n${sha256Hex(canonical)}`;
}

// Derived keys depend only on (secret, date, service): cache them, they are recomputed on every request otherwise.
const signingKeys = new Map<string, Buffer>();
const SIGNING_KEY_CACHE_MAX = 10_000;

/** The signing key (§3.4), derived anew: for keys no valid call will use again, such as a diagnosis's trials. */
export function deriveSigningKey(secretKey: string, date: string, service: string): Buffer {
  const kDate = createHmac("sha256", `TC3${secretKey}`).update(date).digest();
  const kService = createHmac("sha256", kDate).update(service).digest();
  return createHmac("sha256", kService).update("tc3_request").digest();
}

export function signingKey(secretKey: string, date: string, service: string): Buffer {
  const cacheKey = `${date}\u0000${service}\u0000${secretKey}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    key = deriveSigningKey(secretKey, date, service);
    if (signingKeys.size >= SIGNING_KEY_CACHE_MAX) signingKeys.clear();
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/** The credential scope of the string to sign (§3.4). */
export function credentialScope(date: string, service: string): string {
  return `${date}/${service}/tc3_request`;
}

export function tc3Signature(key: Buffer, toSign: string): string {
  return createHmac("sha256", key).update(toSign).digest("hex");
}

const utcDay = perDay((dayStartMs) => new Date(dayStartMs).toISOString().slice(0, 10));

/** The UTC calendar date of a Unix timestamp, as the credential scope carries it (§5). */
export function utcDate(unixSeconds: number): string {
  return utcDay(unixSeconds * 1000);
}
