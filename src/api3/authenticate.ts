/**
 * Authentication of one call: TC3-HMAC-SHA256 or v1 (HmacSHA1/HmacSHA256), the ±300 s window, and the key
 * lookup. First failure wins: a malformed Authorization, then the timestamp, the key, the signature.
 */
import { timingSafeEqual } from "node:crypto";
import { ApiError } from "./errors";
import { canonicalRequest, credentialScope, sha256Hex, signingKey, stringToSign, tc3Signature, utcDate } from "./tc3";
import { type V1Algorithm, v1Algorithm, v1Signature, v1StringToSign } from "./v1";

export const TIMESTAMP_WINDOW_SECONDS = 300;

export interface Credential {
  secretId: string;
  secretKey: string;
  accountId: string;
  /** a test key (the test kit): its calls answer from fixtures, into the test ledger */
  test?: boolean;
}

/** Resolves an enabled key; undefined for unknown and disabled keys alike. */
export type KeyResolver = (secretId: string) => Promise<Credential | undefined>;

/** What arrives before the body: enough to refuse a call without reading what it sends. */
export interface RequestHead {
  method: string;
  path: string;
  rawQuery: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The rest of a TC3 check once the body is there: the caller, or AuthFailure.SignatureFailure. */
export type Tc3SignatureCheck = (body: Buffer) => Caller;

export interface Caller {
  secretId: string;
  accountId: string;
  /** Alibaba's protocol (aliyun/) authenticates with ACS3-HMAC-SHA256 or RPC HMAC-SHA1 */
  signature: "TC3" | "v1" | "ACS3" | "RPC";
  test: boolean;
  /** TC3 only: the credential scope's service, which the router may use when the Host names no product */
  scopeService?: string;
}

/** A header's value as one string (repeated headers joined as node:http would for most). */
export function requestHeader(req: RequestHead, name: string): string | undefined {
  // SignedHeaders names are the caller's: only the request's own headers answer, never an object's members.
  const v = Object.hasOwn(req.headers, name) ? req.headers[name] : undefined;
  return Array.isArray(v) ? v.join(", ") : v;
}

/** Unix seconds as X-TC-Timestamp or the Timestamp parameter carries them; undefined when they are not. */
export function timestampSeconds(raw: string | undefined): number | undefined {
  const trimmed = raw?.trim();
  return trimmed !== undefined && /^\d{1,12}$/.test(trimmed) ? Number(trimmed) : undefined;
}

function parseTimestamp(raw: string | undefined, nowSeconds: number): number {
  if (raw === undefined || raw === "") throw new ApiError("MissingParameter", "The parameter Timestamp is required.");
  const ts = timestampSeconds(raw);
  if (ts === undefined) throw new ApiError("InvalidParameterValue", "Timestamp must be Unix seconds.");
  if (Math.abs(nowSeconds - ts) > TIMESTAMP_WINDOW_SECONDS) throw new ApiError("AuthFailure.SignatureExpire");
  return ts;
}

/** A SecretId worth looking up: not empty, no whitespace, at most 128 characters. */
export function secretIdWellFormed(secretId: string): boolean {
  return secretId !== "" && secretId.length <= 128 && !/\s/.test(secretId);
}

async function resolveKey(secretId: string, keys: KeyResolver): Promise<Credential> {
  if (!secretIdWellFormed(secretId)) throw new ApiError("AuthFailure.InvalidSecretId");
  const credential = await keys(secretId);
  if (!credential) throw new ApiError("AuthFailure.SecretIdNotFound");
  return credential;
}

/**
 * The host forms to try, the likelier first: TC3 as the Node SDK signs it (without the port, then with it, as the
 * Go SDK does); v1 as received (the SDK signs its endpoint string, port included), then without the port.
 */
export function hostForms(host: string, portFirst: boolean): string[] {
  const lower = host.trim().toLowerCase();
  const withoutPort = lower.replace(/:\d+$/, "");
  if (withoutPort === lower) return [lower];
  return portFirst ? [lower, withoutPort] : [withoutPort, lower];
}

/** Compares two hex signatures in constant time (a refused signature must not tell how much of it was right). */
function safeEqualHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

const AUTHORIZATION = /^TC3-HMAC-SHA256\s+Credential=([^,\s]*)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]{64})\s*$/;

/** A TC3 Authorization header's parts: algorithm, Credential, SignedHeaders, Signature. */
export interface Tc3Authorization {
  secretId: string;
  /** the credential scope's date and service */
  date: string;
  service: string;
  /** SignedHeaders, lowercased, in the order signed */
  signedNames: string[];
  /** lowercase hex */
  signature: string;
}

/** The parts of a TC3 Authorization header, or undefined when it is not `TC3-HMAC-SHA256 Credential=…/tc3_request, …`. */
export function parseTc3Authorization(authorization: string): Tc3Authorization | undefined {
  const m = AUTHORIZATION.exec(authorization.trim());
  const [secretId, date, service, terminator, ...more] = m?.[1]?.split("/") ?? [];
  const signedHeaders = m?.[2];
  const signature = m?.[3];
  if (secretId === undefined || date === undefined || service === undefined || terminator !== "tc3_request" || more.length > 0)
    return undefined;
  if (signedHeaders === undefined || signature === undefined) return undefined;
  return { secretId, date, service, signedNames: signedHeaders.toLowerCase().split(";"), signature: signature.toLowerCase() };
}

/** What TC3 signs of a call besides its body's hash and the form of its Host. */
export interface Tc3SignedCall {
  method: string;
  path: string;
  query: string;
  /** X-TC-Timestamp as sent, trimmed */
  timestamp: string;
  date: string;
  service: string;
  signedNames: readonly string[];
  /** the signed headers' values as received, trimmed */
  values: readonly string[];
  /** where host is among signedNames; -1 if it is not */
  hostIndex: number;
}

/** The signed header names the request does not carry. */
export function missingSignedHeaders(req: RequestHead, signedNames: readonly string[]): string[] {
  return signedNames.filter((name) => requestHeader(req, name) === undefined);
}

/** The call as TC3 signs it; undefined when a signed header is missing from the request. */
export function tc3SignedCall(req: RequestHead, auth: Tc3Authorization, timestamp: string): Tc3SignedCall | undefined {
  const values: string[] = [];
  for (const name of auth.signedNames) {
    const v = requestHeader(req, name);
    if (v === undefined) return undefined;
    values.push(v.trim());
  }
  return {
    method: req.method,
    path: req.path,
    query: req.rawQuery,
    timestamp: timestamp.trim(),
    date: auth.date,
    service: auth.service,
    signedNames: auth.signedNames,
    values,
    hostIndex: auth.signedNames.indexOf("host"),
  };
}

function canonicalOf(call: Tc3SignedCall, values: readonly string[], host: string | undefined, hashedPayload: string): string {
  const headers = call.signedNames.map((name, i) => [name, i === call.hostIndex && host !== undefined ? host : (values[i] ?? "")] as const);
  return canonicalRequest({ method: call.method, path: call.path, query: call.query, headers, hashedPayload });
}

/** The canonical request as the SDKs sign it (header values lowercased), with `host` as the Host value if given. */
export function tc3CanonicalRequest(call: Tc3SignedCall, host: string | undefined, hashedPayload: string): string {
  return canonicalOf(
    call,
    call.values.map((v) => v.toLowerCase()),
    host,
    hashedPayload,
  );
}

/**
 * Whether `expected` is the call's TC3 signature under `key`, with one of `hosts` as its Host value (undefined: as
 * received). Values are signed lowercased, as the SDKs do; a second pass with values only trimmed covers a mixed-case
 * Content-Type.
 */
export function tc3SignatureMatches(
  call: Tc3SignedCall,
  key: Buffer,
  hashedPayload: string,
  hosts: ReadonlyArray<string | undefined>,
  expected: string,
): boolean {
  const scope = credentialScope(call.date, call.service);
  const lowercased = call.values.map((v) => v.toLowerCase());
  const passes = lowercased.every((v, i) => v === call.values[i]) ? [lowercased] : [lowercased, call.values];
  for (const values of passes) {
    for (const host of hosts) {
      const signature = tc3Signature(key, stringToSign(call.timestamp, scope, canonicalOf(call, values, host, hashedPayload)));
      if (safeEqualHex(signature, expected)) return true;
    }
  }
  return false;
}

/**
 * The header half of TC3, up to the key lookup: a malformed Authorization, an expired timestamp and
 * an unknown key are refused here, before a byte of the body is read. The signature itself needs the body.
 */
export async function beginTc3(req: RequestHead, authorization: string, nowSeconds: number, keys: KeyResolver): Promise<Tc3SignatureCheck> {
  const auth = parseTc3Authorization(authorization);
  if (!auth) throw new ApiError("AuthFailure.InvalidAuthorization");
  const timestamp = requestHeader(req, "x-tc-timestamp");
  const ts = parseTimestamp(timestamp, nowSeconds);
  const credential = await resolveKey(auth.secretId, keys);
  if (auth.date !== utcDate(ts)) throw new ApiError("AuthFailure.SignatureFailure");
  if (!auth.signedNames.includes("host")) throw new ApiError("AuthFailure.InvalidAuthorization", "SignedHeaders must include host.");
  const call = tc3SignedCall(req, auth, timestamp ?? "");
  if (!call) throw new ApiError("AuthFailure.SignatureFailure");
  const hosts = hostForms(call.values[call.hostIndex] ?? "", false);

  return (body) => {
    const key = signingKey(credential.secretKey, auth.date, auth.service);
    if (!tc3SignatureMatches(call, key, sha256Hex(body), hosts, auth.signature)) throw new ApiError("AuthFailure.SignatureFailure");
    return {
      secretId: auth.secretId,
      accountId: credential.accountId,
      signature: "TC3",
      test: credential.test === true,
      scopeService: auth.service,
    };
  };
}

const V1_REQUIRED = ["Action", "Version", "Timestamp", "Nonce", "SecretId", "Signature"] as const;

/** The Signature parameter's bytes: base64, with the "+" a GET left unencoded (now a space) put back. */
export function v1SignatureBytes(raw: string): Buffer {
  return Buffer.from(raw.replace(/ /g, "+"), "base64");
}

/** Whether `given` is the v1 signature of `toSign` (one host form's string to sign), compared in constant time. */
export function v1SignatureIs(toSign: string, algorithm: V1Algorithm, secretKey: string, given: Buffer): boolean {
  const mac = v1Signature(algorithm, secretKey, toSign);
  return mac.length === given.length && timingSafeEqual(mac, given);
}

export async function authenticateV1(
  req: RequestHead,
  params: ReadonlyMap<string, string>,
  nowSeconds: number,
  keys: KeyResolver,
): Promise<Caller> {
  const value = (name: (typeof V1_REQUIRED)[number]): string => {
    const v = params.get(name);
    if (!v) throw new ApiError("MissingParameter", `The parameter ${name} is required.`);
    return v;
  };
  for (const name of V1_REQUIRED) value(name);
  parseTimestamp(value("Timestamp"), nowSeconds);
  if (!/^\d{1,20}$/.test(value("Nonce"))) throw new ApiError("InvalidParameterValue", "Nonce must be a non-negative integer.");
  const credential = await resolveKey(value("SecretId"), keys);

  const given = v1SignatureBytes(value("Signature"));
  const algorithm = v1Algorithm(params.get("SignatureMethod"));
  for (const host of hostForms(requestHeader(req, "host") ?? "", true)) {
    if (v1SignatureIs(v1StringToSign(req.method, host, req.path, params), algorithm, credential.secretKey, given)) {
      return { secretId: credential.secretId, accountId: credential.accountId, signature: "v1", test: credential.test === true };
    }
  }
  throw new ApiError("AuthFailure.SignatureFailure");
}
