/**
 * Signature diagnoses of refused Alibaba calls, for the test kit's `explain` (as api3/diagnose.ts does for Tencent's):
 * what the server computed — the canonical request (V3) or string to sign (V2) with every value masked by a keyed
 * hash — the clock, and the likely cause, found by signing the call again with one usual mistake at a time. Bounded:
 * a body past DIAGNOSIS_BODY_LIMIT is not hashed or signed again; at most a handful of trials, two signings each.
 */
import { createHmac } from "node:crypto";
import type { KeyResolver, RequestHead } from "../api3/authenticate";
import { requestHeader, secretIdWellFormed } from "../api3/authenticate";
import { DIAGNOSIS_BODY_LIMIT, type SignatureDiagnosis } from "../api3/diagnose";
import { TIMESTAMP_WINDOW_SECONDS } from "./authenticate";
import type { GatewayCode } from "./errors";
import { bodyPairs, COMMON_PARAMS, formPairs, MAX_PARAMS } from "./params";
import { acs3CanonicalRequest, acs3Signature, acs3StringToSign, rpcSignature, rpcStringToSign, sha256Hex } from "./signatures";

/** A refused Alibaba call as the diagnosis needs it: the request, the body once read. */
export interface AcsRefusal {
  requestId: string;
  code: GatewayCode;
  req: RequestHead;
  body: Buffer | undefined;
  nowSeconds: number;
}

export interface AcsDiagnoseDeps {
  keys: KeyResolver;
  mask: (value: string) => string;
}

/** The codes a diagnosis explains: everything about the signature, its clock and its key. */
export const DIAGNOSED: ReadonlySet<GatewayCode> = new Set([
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "InvalidSignatureMethod",
  "InvalidTimeStamp.Format",
  "InvalidTimeStamp.Expired",
  "InvalidAccessKeyId.NotFound",
  "SignatureNonceUsed",
]);

const ACS3_METHOD = "ACS3-HMAC-SHA256";
const SHOWN_MAX = 4096;
/** Headers shown as sent in a V3 canonical request; the others' values are masked. */
const SHOWN_HEADERS = new Set(["host", "x-acs-action", "x-acs-version", "x-acs-date", "content-type", "x-acs-credentials-provider"]);
const clip = (text: string) =>
  text.length > SHOWN_MAX ? `${text.slice(0, SHOWN_MAX)}… (${text.length - SHOWN_MAX} more characters)` : text;

function seconds(raw: string | undefined): number | undefined {
  const m = raw === undefined ? null : /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(raw.trim());
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000 : undefined;
}

function clockOf(nowSeconds: number, raw: string | undefined) {
  const ts = seconds(raw);
  return {
    serverTime: new Date(nowSeconds * 1000).toISOString(),
    requestTimestamp: ts,
    offsetSeconds: ts === undefined ? undefined : ts - nowSeconds,
    windowSeconds: TIMESTAMP_WINDOW_SECONDS,
  };
}

function clockCause(offset: number | undefined): string | undefined {
  if (offset === undefined || Math.abs(offset) <= TIMESTAMP_WINDOW_SECONDS) return undefined;
  return `The request's time is ${Math.abs(offset)} s ${offset < 0 ? "behind" : "ahead of"} the server's clock; Alibaba's window is ±${TIMESTAMP_WINDOW_SECONDS} s. Sign with the current UTC time.`;
}

const ACS3 = /^ACS3-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

export async function diagnoseAcs(r: AcsRefusal, deps: AcsDiagnoseDeps): Promise<SignatureDiagnosis> {
  const authorization = requestHeader(r.req, "authorization");
  return authorization !== undefined ? diagnoseAcs3(r, authorization, deps) : diagnoseRpc(r, deps);
}

async function secretOf(accessKeyId: string | undefined, keys: KeyResolver): Promise<string | undefined> {
  if (accessKeyId === undefined || !secretIdWellFormed(accessKeyId)) return undefined;
  return (await keys(accessKeyId))?.secretKey;
}

function keyCause(code: GatewayCode, secret: string | undefined): string | undefined {
  if (code === "InvalidAccessKeyId.NotFound" || secret === undefined) {
    return "The AccessKeyId is not an enabled key of this installation: use the SecretId of a key sanyao made (it serves as the AccessKeyId).";
  }
  if (code === "SignatureNonceUsed")
    return "The SignatureNonce was used by this AccessKeyId, and that call's timestamp is still accepted (a nonce is kept until its timestamp + 15 minutes + 1 s): send a fresh one with every request.";
  if (code === "InvalidSignatureMethod") return "Only HMAC-SHA1 (V2) and ACS3-HMAC-SHA256 (V3) are served.";
  return undefined;
}

async function diagnoseAcs3(r: AcsRefusal, authorization: string, deps: AcsDiagnoseDeps): Promise<SignatureDiagnosis> {
  const header = (name: string) => requestHeader(r.req, name);
  const m = ACS3.exec(authorization);
  const clock = clockOf(r.nowSeconds, header("x-acs-date"));
  const base: SignatureDiagnosis = {
    requestId: r.requestId,
    code: r.code,
    signatureMethod: ACS3_METHOD,
    secretId: m?.[1]?.slice(0, 128),
    clock,
    hostsTried: [header("host") ?? ""],
    likelyCauses: [],
  };
  if (!m) {
    base.likelyCauses.push(
      "The Authorization header is not `ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<names;…>,Signature=<64 hex>`.",
    );
    return base;
  }
  const signedHeaders = (m[2] ?? "").split(";");
  base.signedHeaders = signedHeaders;
  const hashedPayload = header("x-acs-content-sha256") ?? "";
  let query: Array<[string, string]> = [];
  try {
    query = [...formPairs(r.req.rawQuery)];
  } catch {
    base.likelyCauses.push(`The query gives a parameter twice or carries more than ${MAX_PARAMS}: it is refused whatever its signature.`);
  }
  const maskedQuery = query.map(([k, v]) => [k, `<${deps.mask(v)}>`] as const);
  const shownHeader = (name: string) => (SHOWN_HEADERS.has(name) ? header(name) : `<${deps.mask(header(name) ?? "")}>`);
  base.canonicalRequest = clip(
    acs3CanonicalRequest({
      method: r.req.method,
      query: maskedQuery,
      signedHeaders,
      header: shownHeader,
      hashedPayload: `<${deps.mask(hashedPayload)}>`,
    }),
  );
  base.stringToSign = `${ACS3_METHOD}\n<masked: SHA-256 of the canonical request>`;
  const causes = base.likelyCauses;
  const clockSays = clockCause(clock.offsetSeconds);
  if (clockSays) causes.push(clockSays);
  const secret = await secretOf(m[1], deps.keys);
  const keySays = keyCause(r.code, secret);
  if (keySays) causes.push(keySays);
  const missing = ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"].filter(
    (h) => !signedHeaders.includes(h),
  );
  if (missing.length > 0) causes.push(`SignedHeaders must name ${missing.join(", ")}.`);
  if (secret !== undefined && r.code === "SignatureDoesNotMatch") {
    if (r.body === undefined || r.body.length > DIAGNOSIS_BODY_LIMIT) {
      causes.push(`The body (${r.body?.length ?? 0} bytes) was not hashed again: past ${DIAGNOSIS_BODY_LIMIT} bytes a diagnosis does not.`);
    } else if (sha256Hex(r.body) !== hashedPayload) {
      causes.push("x-acs-content-sha256 is not the hex SHA-256 of the body as sent: hash the exact bytes of the body.");
    }
    const given = m[3] ?? "";
    const signWith = (key: string, host?: string) =>
      acs3Signature(
        acs3StringToSign(
          acs3CanonicalRequest({
            method: r.req.method,
            query,
            signedHeaders,
            header: (n) => (n === "host" && host !== undefined ? host : header(n)),
            hashedPayload,
          }),
        ),
        key,
      );
    const host = header("host") ?? "";
    if (signWith(`${secret}&`) === given)
      causes.push("Signed with the AccessKeySecret followed by `&` (V2's key): V3 signs with the secret as it is.");
    else if (host.includes(":") && signWith(secret, host.replace(/:\d+$/, "")) === given) {
      causes.push(
        "Signed for the host without its port: the host header is signed as sent, port included (the SDK's endpoint `127.0.0.1:PORT`).",
      );
    }
  }
  if (causes.length === 0) {
    causes.push(
      "The AccessKeySecret differs from this key's, or the request changed after it was signed (a header, the query or the body).",
    );
  }
  return base;
}

async function diagnoseRpc(r: AcsRefusal, deps: AcsDiagnoseDeps): Promise<SignatureDiagnosis> {
  // The query was read before any refusal diagnosed here (readHead): it is within bounds.
  const all = formPairs(r.req.rawQuery);
  if (r.body !== undefined && r.body.length <= DIAGNOSIS_BODY_LIMIT) {
    try {
      bodyPairs(requestHeader(r.req, "content-type") ?? "", r.body, all);
    } catch {
      // a body that is not parameters: the query alone is shown
    }
  }
  const clock = clockOf(r.nowSeconds, all.get("Timestamp"));
  const accessKeyId = all.get("AccessKeyId");
  const shown = new Map([...all].map(([k, v]) => [k, COMMON_PARAMS.has(k) && k !== "SecurityToken" ? v : `<${deps.mask(v)}>`] as const));
  const base: SignatureDiagnosis = {
    requestId: r.requestId,
    code: r.code,
    signatureMethod: all.get("SignatureMethod") ?? "unknown",
    secretId: accessKeyId?.slice(0, 128),
    clock,
    hostsTried: [],
    stringToSign: clip(rpcStringToSign(r.req.method, shown)),
    likelyCauses: [],
  };
  const causes = base.likelyCauses;
  const clockSays = clockCause(clock.offsetSeconds);
  if (clockSays) causes.push(clockSays);
  const secret = await secretOf(accessKeyId, deps.keys);
  const keySays = keyCause(r.code, secret);
  if (keySays) causes.push(keySays);
  const given = all.get("Signature") ?? "";
  if (secret !== undefined && r.code === "SignatureDoesNotMatch") {
    const other = r.req.method === "GET" ? "POST" : "GET";
    const toSign = rpcStringToSign(r.req.method, all);
    if (rpcSignature(rpcStringToSign(other, all), secret) === given) {
      causes.push(`Signed as ${other} but sent as ${r.req.method}: the method is the first part of the string to sign.`);
    } else if (createHmac("sha1", secret).update(toSign, "utf8").digest("base64") === given) {
      causes.push("Signed with the bare AccessKeySecret (V3's key): V2 signs with the secret followed by `&`.");
    }
  }
  if (causes.length === 0) {
    causes.push(
      "The AccessKeySecret differs from this key's, or a parameter changed after signing. Every parameter of the query and the form body but Signature is signed, each name and value percent-encoded as RFC 3986 (space %20, `*` %2A, `~` kept).",
    );
  }
  return base;
}
