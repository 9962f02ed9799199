/** Signing requests the way the official SDKs do: TC3-HMAC-SHA256 for JSON POST (api3-protocol.md §3). */
import { canonicalRequest, sha256Hex, signingKey, stringToSign, tc3Signature, TC3_ALGORITHM, utcDate } from "../api3/tc3";

export interface Tc3SignInput {
  secretId: string;
  secretKey: string;
  /** the credential-scope service: the product name (faceid, kms) */
  service: string;
  /** the Host header as sent, port included; signed without the port, as the Node SDK does */
  host: string;
  action: string;
  version: string;
  region?: string;
  language?: "zh-CN" | "en-US";
  token?: string;
  /** Unix seconds */
  timestamp: number;
  body: string;
}

export function signTc3(input: Tc3SignInput): Record<string, string> {
  const contentType = "application/json";
  const date = utcDate(input.timestamp);
  const signedHost = input.host.toLowerCase().replace(/:\d+$/, "");
  const canonical = canonicalRequest({
    method: "POST",
    path: "/",
    query: "",
    headers: [["content-type", contentType], ["host", signedHost]],
    hashedPayload: sha256Hex(input.body),
  });
  const scope = `${date}/${input.service}/tc3_request`;
  const signature = tc3Signature(
    signingKey(input.secretKey, date, input.service),
    stringToSign(String(input.timestamp), scope, canonical),
  );
  const headers: Record<string, string> = {
    Host: input.host,
    "X-TC-Action": input.action,
    "X-TC-Version": input.version,
    "X-TC-Timestamp": String(input.timestamp),
    "Content-Type": contentType,
    Authorization: `${TC3_ALGORITHM} Credential=${input.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
  };
  if (input.region) headers["X-TC-Region"] = input.region;
  if (input.language) headers["X-TC-Language"] = input.language;
  if (input.token) headers["X-TC-Token"] = input.token;
  return headers;
}
