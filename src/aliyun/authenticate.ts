/**
 * Authentication of one Alibaba call (alibaba-cloudauth.md §2.2, §2.3, §5, §8.9): V3 ACS3-HMAC-SHA256 (the
 * Authorization header, its signed headers read from the request) or V2 RPC HMAC-SHA1 (the Signature parameter);
 * then the timestamp window, the key, the body's hash (V3) and the signature. First failure wins. The nonce and the
 * request's time are handed on: the pipeline notes the nonce once the action is known (nonces.ts).
 * A refused V2 signature echoes the server's string to sign as Alibaba does, its values masked afresh for each
 * answer (§8.10).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Credential, KeyResolver, RequestHead } from "../api3/authenticate";
import { requestHeader, secretIdWellFormed } from "../api3/authenticate";
import { GatewayError } from "./errors";
import { bodyPairs, COMMON_PARAMS, formPairs } from "./params";
import { acs3CanonicalRequest, acs3Signature, acs3StringToSign, rpcSignature, rpcStringToSign, sha256Hex } from "./signatures";

export const TIMESTAMP_WINDOW_SECONDS = 15 * 60;

export type AcsSignature = "ACS3" | "RPC";

/** What the pipeline knows once the headers are read: which signature, the action, the key's id, the nonce. */
export interface AcsHead {
  signature: AcsSignature;
  action: string | undefined;
  version: string | undefined;
  accessKeyId: string | undefined;
}

export interface Authenticated {
  credential: Credential;
  action: string;
  version: string;
  /** the business parameters, common ones removed */
  params: Map<string, string>;
  nonce: string;
  /** the request's own timestamp (ms): its nonce is kept while that is accepted */
  signedAtMs: number;
}

export interface AuthDeps {
  keys: KeyResolver;
}

/**
 * The masks a refused V2 signature echoes to its caller: keyed afresh for each answer, so equal values mask alike
 * within one answer and never match another's, nor the operator's diagnoses (keyed by the installation): no
 * answer can confirm a guessed value.
 */
function echoMask(): (value: string) => string {
  const key = randomBytes(32);
  return (value) => createHmac("sha256", key).update(value).digest("hex").slice(0, 16);
}

const ACS3 = /^ACS3-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
/** What an Alibaba call looks like from its head alone: any of the three official clients sends one of these. */
export function isAcsCall(req: RequestHead): boolean {
  const authorization = requestHeader(req, "authorization");
  if (authorization?.startsWith("ACS3-")) return true;
  if (requestHeader(req, "x-acs-action") !== undefined) return true;
  return /(?:^|&)AccessKeyId=/.test(req.rawQuery);
}

const ISO_SECONDS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** The request's time in ms (whole seconds), if it is within the window. */
function checkTimestamp(raw: string | undefined, nowSeconds: number): number {
  if (raw === undefined || raw === "") throw new GatewayError("MissingParameter", "Timestamp is mandatory for this action.");
  const m = ISO_SECONDS.exec(raw.trim());
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : Number.NaN;
  if (!Number.isFinite(ms)) throw new GatewayError("InvalidTimeStamp.Format");
  if (Math.abs(ms / 1000 - nowSeconds) > TIMESTAMP_WINDOW_SECONDS) throw new GatewayError("InvalidTimeStamp.Expired");
  return ms;
}

async function resolveKey(accessKeyId: string | undefined, keys: KeyResolver): Promise<Credential> {
  if (accessKeyId === undefined || accessKeyId === "")
    throw new GatewayError("MissingParameter", "AccessKeyId is mandatory for this action.");
  const credential = secretIdWellFormed(accessKeyId) ? await keys(accessKeyId) : undefined;
  if (!credential) throw new GatewayError("InvalidAccessKeyId.NotFound");
  return credential;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new GatewayError("MissingParameter", `${name} is mandatory for this action.`);
  return value;
}

/** The head's facts, before anything is checked: for the clock hook and the log line. */
export function readHead(req: RequestHead): AcsHead {
  const authorization = requestHeader(req, "authorization");
  if (authorization !== undefined && !authorization.startsWith("ACS3-")) throw new GatewayError("IncompleteSignature");
  if (authorization !== undefined) {
    return {
      signature: "ACS3",
      action: requestHeader(req, "x-acs-action"),
      version: requestHeader(req, "x-acs-version"),
      accessKeyId: ACS3.exec(authorization)?.[1],
    };
  }
  const query = formPairs(req.rawQuery);
  return { signature: "RPC", action: query.get("Action"), version: query.get("Version"), accessKeyId: query.get("AccessKeyId") };
}

/** V3: everything but the body is checked before it is read; the body must hash to x-acs-content-sha256. */
export async function authenticateAcs3(
  req: RequestHead,
  readBody: () => Promise<Buffer>,
  nowSeconds: number,
  deps: AuthDeps,
): Promise<Authenticated> {
  const authorization = requestHeader(req, "authorization") ?? "";
  if (authorization.startsWith("ACS3-") && !authorization.startsWith("ACS3-HMAC-SHA256 ")) throw new GatewayError("InvalidSignatureMethod");
  const m = ACS3.exec(authorization);
  if (!m) throw new GatewayError("IncompleteSignature");
  const [, accessKeyId = "", signedList = "", signature = ""] = m;
  const signedHeaders = signedList.split(";");
  const header = (name: string) => requestHeader(req, name);
  const action = required(header("x-acs-action"), "Action");
  const version = required(header("x-acs-version"), "Version");
  const signedAtMs = checkTimestamp(header("x-acs-date"), nowSeconds);
  const nonce = required(header("x-acs-signature-nonce"), "SignatureNonce");
  // Every header the signature's meaning rests on must be signed.
  for (const name of ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"]) {
    if (!signedHeaders.includes(name)) throw new GatewayError("IncompleteSignature");
  }
  const hashedPayload = required(header("x-acs-content-sha256"), "x-acs-content-sha256");
  const credential = await resolveKey(accessKeyId, deps.keys);
  const body = await readBody();
  const query = formPairs(req.rawQuery);
  const canonical = acs3CanonicalRequest({ method: req.method, query: [...query], signedHeaders, header, hashedPayload });
  const expected = acs3Signature(acs3StringToSign(canonical), credential.secretKey);
  if (!sameText(sha256Hex(body), hashedPayload) || !sameText(expected, signature)) throw new GatewayError("SignatureDoesNotMatch");
  const params = bodyPairs(header("content-type") ?? "", body, query);
  return { credential, action, version, params: business(params), nonce, signedAtMs };
}

/** V2: the parameters are wherever the client put them (query, form body), so the body is read first. */
export async function authenticateRpc(
  req: RequestHead,
  readBody: () => Promise<Buffer>,
  nowSeconds: number,
  deps: AuthDeps,
): Promise<Authenticated> {
  const all = formPairs(req.rawQuery);
  if (req.method === "POST") bodyPairs(requestHeader(req, "content-type") ?? "", await readBody(), all);
  const signature = required(all.get("Signature"), "Signature");
  const action = required(all.get("Action"), "Action");
  const version = required(all.get("Version"), "Version");
  const method = all.get("SignatureMethod");
  if (method !== "HMAC-SHA1") {
    throw method === undefined
      ? new GatewayError("MissingParameter", "SignatureMethod is mandatory for this action.")
      : new GatewayError("InvalidSignatureMethod");
  }
  const signedAtMs = checkTimestamp(all.get("Timestamp"), nowSeconds);
  const nonce = required(all.get("SignatureNonce"), "SignatureNonce");
  const credential = await resolveKey(all.get("AccessKeyId"), deps.keys);
  const toSign = rpcStringToSign(req.method, all);
  if (!sameText(rpcSignature(toSign, credential.secretKey), signature)) {
    throw new GatewayError(
      "SignatureDoesNotMatch",
      `Specified signature is not matched with our calculation. server string to sign is:${echoedStringToSign(req.method, all, echoMask())}`,
    );
  }
  return { credential, action, version, params: business(all), nonce, signedAtMs };
}

/** How much of the string to sign a refusal echoes: what a developer compares at a glance, not a copy of the body. */
export const ECHO_MAX = 4096;

/** The string to sign with values masked; past ECHO_MAX characters the remaining parameters are counted, not shown. */
function echoedStringToSign(method: string, all: ReadonlyMap<string, string>, mask: (value: string) => string): string {
  const shown = new Map<string, string>();
  let length = 0;
  let more = 0;
  for (const name of [...all.keys()].sort()) {
    if (name === "Signature") continue;
    if (length > ECHO_MAX) {
      more++;
      continue;
    }
    const value = all.get(name) ?? "";
    const masked = COMMON_PARAMS.has(name) && name !== "SecurityToken" ? value : `<${mask(value)}>`;
    shown.set(name, masked);
    length += name.length + masked.length + 2;
  }
  const text = rpcStringToSign(method, shown);
  const clipped = text.length > ECHO_MAX ? `${text.slice(0, ECHO_MAX)}…(${text.length - ECHO_MAX} more characters)` : text;
  return more === 0 ? clipped : `${clipped}&…(${more} more parameters)`;
}

function business(all: Map<string, string>): Map<string, string> {
  for (const name of COMMON_PARAMS) all.delete(name);
  return all;
}
