/**
 * The two signatures Alibaba's SDKs send (alibaba-cloudauth.md §2.2, §2.3): RPC HMAC-SHA1 over the sorted
 * parameters (V2), and ACS3-HMAC-SHA256 over the canonical request with the headers the caller names (V3).
 * Pure functions: the known-answer vectors of §2.4 test them as they are.
 */
import { createHash, createHmac } from "node:crypto";
import { percentEncode } from "./encode";

/** `name=value` pairs sorted by name (code-unit order), each side percent-encoded. */
function canonicalPairs(params: Iterable<readonly [string, string]>): string {
  return [...params]
    .map(([k, v]) => [percentEncode(k), percentEncode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** V2: every parameter but Signature, query and body together. */
export function rpcStringToSign(method: string, params: ReadonlyMap<string, string>): string {
  const signed = [...params].filter(([k]) => k !== "Signature");
  return `${method}&${percentEncode("/")}&${percentEncode(canonicalPairs(signed))}`;
}

export function rpcSignature(stringToSign: string, secret: string): string {
  return createHmac("sha1", `${secret}&`).update(stringToSign, "utf8").digest("base64");
}

export const sha256Hex = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

export interface Acs3Request {
  method: string;
  /** the query's parameters, decoded */
  query: ReadonlyArray<readonly [string, string]>;
  /** the signed headers' names, lower case, as SignedHeaders lists them */
  signedHeaders: readonly string[];
  header: (name: string) => string | undefined;
  /** the x-acs-content-sha256 value */
  hashedPayload: string;
}

export function acs3CanonicalRequest(req: Acs3Request): string {
  const headers = req.signedHeaders.map((name) => `${name}:${(req.header(name) ?? "").trim()}\n`).join("");
  return [req.method, "/", canonicalPairs(req.query), headers, req.signedHeaders.join(";"), req.hashedPayload].join("\n");
}

export function acs3StringToSign(canonicalRequest: string): string {
  return `ACS3-HMAC-SHA256\n${sha256Hex(canonicalRequest)}`;
}

export function acs3Signature(stringToSign: string, secret: string): string {
  return createHmac("sha256", secret).update(stringToSign, "utf8").digest("hex");
}
