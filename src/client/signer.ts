/**
 * Signing requests the way the official SDKs do: TC3-HMAC-SHA256 for JSON POST (api3-protocol.md §3), and
 * v1 HmacSHA1/HmacSHA256 for form POST (§4).
 */
import { canonicalRequest, sha256Hex, signingKey, stringToSign, tc3Signature, TC3_ALGORITHM, utcDate } from "../api3/tc3";
import { v1Signature, v1StringToSign, type V1Algorithm } from "../api3/v1";

/** What both signature versions sign about one call. */
interface CallToSign {
  secretId: string;
  secretKey: string;
  /** the Host header as sent, port included */
  host: string;
  action: string;
  version: string;
  region?: string;
  language?: "zh-CN" | "en-US";
  token?: string;
  /** informational; TC3 sends it unsigned (X-TC-RequestClient), v1 signs it like every parameter */
  requestClient?: string;
  /** Unix seconds */
  timestamp: number;
}

export interface Tc3SignInput extends CallToSign {
  /** the credential-scope service: the product name (faceid, kms); the host is signed without its port, as the Node SDK does */
  service: string;
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
    headers: [
      ["content-type", contentType],
      ["host", signedHost],
    ],
    hashedPayload: sha256Hex(input.body),
  });
  const scope = `${date}/${input.service}/tc3_request`;
  const signature = tc3Signature(signingKey(input.secretKey, date, input.service), stringToSign(String(input.timestamp), scope, canonical));
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
  if (input.requestClient) headers["X-TC-RequestClient"] = input.requestClient;
  return headers;
}

/** v1 signs the host as sent, port included (what the Node SDK does). */
export interface V1SignInput extends CallToSign {
  /** default POST (a form body); GET puts the same parameters in the query */
  method?: "POST" | "GET";
  algorithm: V1Algorithm;
  nonce: number;
  /** flattened business parameters (Name.0=…) */
  params: ReadonlyMap<string, string>;
}

/** The parameters of a signed v1 request (form body or query): business and common parameters plus Signature. */
export function signV1(input: V1SignInput): URLSearchParams {
  const all = new Map(input.params);
  all.set("Action", input.action);
  all.set("Version", input.version);
  all.set("Timestamp", String(input.timestamp));
  all.set("Nonce", String(input.nonce));
  all.set("SecretId", input.secretId);
  all.set("SignatureMethod", input.algorithm);
  if (input.region) all.set("Region", input.region);
  if (input.language) all.set("Language", input.language);
  if (input.token) all.set("Token", input.token);
  if (input.requestClient) all.set("RequestClient", input.requestClient);
  const toSign = v1StringToSign(input.method ?? "POST", input.host, "/", all);
  const signature = v1Signature(input.algorithm, input.secretKey, toSign).toString("base64");
  const form = new URLSearchParams([...all]);
  form.set("Signature", signature);
  return form;
}

/** Flattens nested parameters for v1 and GET: arrays by index, objects by name; nulls and empty arrays vanish. */
export function flatten(value: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (value === null || value === undefined) return out;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) flatten(item, `${prefix}${i}.`, out);
  } else if (typeof value === "object") for (const [k, v] of Object.entries(value)) flatten(v, `${prefix}${k}.`, out);
  else out.set(prefix.slice(0, -1), String(value));
  return out;
}
