/**
 * Authentication of one call: TC3-HMAC-SHA256 (api3-protocol.md §3) or v1 (§4), the ±300 s window (§5),
 * and the key lookup. First failure wins, in the order of §3.2.
 */
import { timingSafeEqual } from "node:crypto";
import { ApiError } from "./errors";
import { canonicalRequest, sha256Hex, signingKey, stringToSign, tc3Signature, utcDate } from "./tc3";
import { v1Algorithm, v1Signature, v1StringToSign } from "./v1";

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
  signature: "TC3" | "v1";
  test: boolean;
  /** TC3 only: the credential scope's service, which the router may use (§1.1 step 2) */
  scopeService?: string;
}

function header(req: RequestHead, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

function parseTimestamp(raw: string | undefined, nowSeconds: number): number {
  if (raw === undefined || raw === "") throw new ApiError("MissingParameter", "The parameter Timestamp is required.");
  if (!/^\d{1,12}$/.test(raw.trim())) throw new ApiError("InvalidParameterValue", "Timestamp must be Unix seconds.");
  const ts = Number(raw.trim());
  if (Math.abs(nowSeconds - ts) > TIMESTAMP_WINDOW_SECONDS) throw new ApiError("AuthFailure.SignatureExpire");
  return ts;
}

async function resolveKey(secretId: string, keys: KeyResolver): Promise<Credential> {
  if (secretId === "" || /\s/.test(secretId) || secretId.length > 128) throw new ApiError("AuthFailure.InvalidSecretId");
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

function safeEqualHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

const AUTHORIZATION = /^TC3-HMAC-SHA256\s+Credential=([^,\s]*)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]{64})\s*$/;

/**
 * The header half of TC3 (§3.2 steps up to the key lookup): a malformed Authorization, an expired timestamp and
 * an unknown key are refused here, before a byte of the body is read. The signature itself needs the body.
 */
export async function beginTc3(req: RequestHead, authorization: string, nowSeconds: number, keys: KeyResolver): Promise<Tc3SignatureCheck> {
  const m = AUTHORIZATION.exec(authorization.trim());
  const scope = m?.[1]?.split("/");
  if (!m || !scope || scope.length !== 4 || scope[3] !== "tc3_request") {
    throw new ApiError("AuthFailure.InvalidAuthorization");
  }
  const [secretId, date, service] = scope as [string, string, string, string];
  const timestampRaw = header(req, "x-tc-timestamp");
  const ts = parseTimestamp(timestampRaw, nowSeconds);
  const credential = await resolveKey(secretId, keys);
  if (date !== utcDate(ts)) throw new ApiError("AuthFailure.SignatureFailure");

  const signedNames = m[2]!.toLowerCase().split(";");
  if (!signedNames.includes("host")) throw new ApiError("AuthFailure.InvalidAuthorization", "SignedHeaders must include host.");
  const values: string[] = [];
  for (const name of signedNames) {
    const v = header(req, name);
    if (v === undefined) throw new ApiError("AuthFailure.SignatureFailure");
    values.push(v.trim());
  }
  const expected = m[3]!.toLowerCase();

  return (body) => {
    const key = signingKey(credential.secretKey, date, service);
    const credentialScope = `${date}/${service}/tc3_request`;
    const hashedPayload = sha256Hex(body);
    const hostIndex = signedNames.indexOf("host");
    // Values are signed lowercased (§3.3); a second pass with values only trimmed covers a mixed-case Content-Type.
    for (const lowercase of [true, false]) {
      const signedValues = lowercase ? values.map((v) => v.toLowerCase()) : values;
      if (!lowercase && signedValues.every((v, i) => v === values[i]!.toLowerCase())) break;
      for (const host of hostForms(values[hostIndex]!, false)) {
        const headers = signedNames.map((name, i) => [name, i === hostIndex ? host : signedValues[i]!] as const);
        const canonical = canonicalRequest({ method: req.method, path: req.path, query: req.rawQuery, headers, hashedPayload });
        const signature = tc3Signature(key, stringToSign(timestampRaw!.trim(), credentialScope, canonical));
        if (safeEqualHex(signature, expected)) {
          return { secretId, accountId: credential.accountId, signature: "TC3", test: credential.test === true, scopeService: service };
        }
      }
    }
    throw new ApiError("AuthFailure.SignatureFailure");
  };
}

const V1_REQUIRED = ["Action", "Version", "Timestamp", "Nonce", "SecretId", "Signature"] as const;

export async function authenticateV1(
  req: RequestHead,
  params: ReadonlyMap<string, string>,
  nowSeconds: number,
  keys: KeyResolver,
): Promise<Caller> {
  for (const name of V1_REQUIRED) {
    if (!params.get(name)) throw new ApiError("MissingParameter", `The parameter ${name} is required.`);
  }
  parseTimestamp(params.get("Timestamp"), nowSeconds);
  if (!/^\d{1,20}$/.test(params.get("Nonce")!)) throw new ApiError("InvalidParameterValue", "Nonce must be a non-negative integer.");
  const credential = await resolveKey(params.get("SecretId")!, keys);

  // A GET whose client forgot to percent-encode "+" arrives with spaces in the base64 (§4 step 6).
  const given = Buffer.from(params.get("Signature")!.replace(/ /g, "+"), "base64");
  const algorithm = v1Algorithm(params.get("SignatureMethod"));
  for (const host of hostForms(header(req, "host") ?? "", true)) {
    const mac = v1Signature(algorithm, credential.secretKey, v1StringToSign(req.method, host, req.path, params));
    if (mac.length === given.length && timingSafeEqual(mac, given)) {
      return { secretId: credential.secretId, accountId: credential.accountId, signature: "v1", test: credential.test === true };
    }
  }
  throw new ApiError("AuthFailure.SignatureFailure");
}
