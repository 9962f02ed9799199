/**
 * Signature diagnostics: for a call refused with AuthFailure.*, what the server computed (canonical request,
 * string to sign, scope, hosts tried, clock offset) and the likely cause, found by signing the request again with
 * one usual mistake at a time through the verifier's own functions (authenticate.ts). Values are never kept: query
 * values, the body, the session Token and hashes of them are replaced by keyed hashes, so a diagnosis can be shown
 * to whoever holds the operator token.
 *
 * A diagnosis costs bounded work whatever the call: a body (TC3) or parameters (v1) past DIAGNOSIS_BODY_LIMIT are
 * noted and never hashed or signed again; a body within it is hashed once; a TC3 call gets at most 16 trials of at
 * most 4 signings each (5 secret mistakes, 5 other hosts, a date, 2 services, 3 payloads), a v1 call at most 11 of at
 * most 2 (5 secret mistakes, 5 other hosts, the other algorithm); what is shown is cut at SHOWN_MAX characters, and
 * only what is shown is masked.
 */
import type { AuthFailure } from "./pipeline";
import {
  type Credential,
  hostForms,
  type KeyResolver,
  missingSignedHeaders,
  parseTc3Authorization,
  type RequestHead,
  requestHeader,
  secretIdWellFormed,
  TIMESTAMP_WINDOW_SECONDS,
  tc3CanonicalRequest,
  tc3SignatureMatches,
  tc3SignedCall,
  timestampSeconds,
  v1SignatureBytes,
  v1SignatureIs,
} from "./authenticate";
import { COMMON_PARAMS } from "./params";
import { credentialScope, deriveSigningKey, EMPTY_SHA256, sha256Hex, signingKey, stringToSign, TC3_ALGORITHM, utcDate } from "./tc3";
import { type V1Algorithm, v1Algorithm, v1StringToSign } from "./v1";

/** A body (TC3) or the parameters (v1) past this size are not hashed or signed again: the diagnosis says so. */
export const DIAGNOSIS_BODY_LIMIT = 64 * 1024;
/** The canonical request and string to sign are shown up to this many characters. */
const SHOWN_MAX = 4096;
/** A SecretId, scope or host echoed from the request is shown up to this many characters. */
const ECHO_MAX = 256;

export interface SignatureDiagnosis {
  requestId: string;
  code: string;
  signatureMethod: string;
  secretId?: string;
  clock: { serverTime: string; requestTimestamp?: number; offsetSeconds?: number; windowSeconds: number };
  expectedScope?: string;
  receivedScope?: string;
  signedHeaders?: string[];
  hostsTried: string[];
  /** with every value replaced by a keyed hash */
  canonicalRequest?: string;
  stringToSign?: string;
  /** most likely first; never empty */
  likelyCauses: string[];
}

export interface DiagnoseDeps {
  keys: KeyResolver;
  /** a keyed hash of a value, short and not reversible without the installation secret */
  mask: (value: string) => string;
  /** the port the server listens on, for the host forms worth trying */
  localPort?: number;
}

/** What every diagnosis takes from a refused call: never its body. */
interface Refusal {
  requestId: string;
  code: string;
  req: RequestHead;
  nowSeconds: number;
}

/** The body as a TC3 diagnosis needs it: its size, and within the limit its hash and that of its compact JSON. */
interface BodyEvidence {
  bytes: number;
  hash?: string;
  compactHash?: string;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length - max} more characters)`;
}

const echo = (text: string) => clip(text, ECHO_MAX);

/** The secret key as a caller may have mistyped it: a space, tab or newline around it. */
const SECRET_MISTAKES: ReadonlyArray<readonly [string, (k: string) => string]> = [
  ["a trailing space", (k) => `${k} `],
  ["a leading space", (k) => ` ${k}`],
  ["a trailing newline (a key read from a file without trimming it)", (k) => `${k}\n`],
  ["a trailing CR LF (a key read from a Windows file)", (k) => `${k}\r\n`],
  ["a trailing tab", (k) => `${k}\t`],
];

/** The key of a SecretId, or why there is none, as the verifier found it (a malformed SecretId is not looked up). */
async function credentialOf(secretId: string, deps: DiagnoseDeps, causes: string[]): Promise<Credential | undefined> {
  if (!secretIdWellFormed(secretId)) {
    causes.push(`The SecretId "${echo(secretId)}" is empty, has whitespace in it or is longer than 128 characters: no key has it.`);
    return undefined;
  }
  const credential = await deps.keys(secretId);
  if (!credential) {
    causes.push(
      `No enabled key has the SecretId ${secretId}: it was made in another installation or data directory, it is disabled, or it is mistyped.`,
    );
  }
  return credential;
}

const tooLarge = (what: string, unit: string) =>
  `${what}, more than the ${DIAGNOSIS_BODY_LIMIT} ${unit} a diagnosis signs again: no usual mistake was tried. ` +
  "Make the same mistake with a smaller call to have it named.";

/**
 * The usual mistakes are tried in turn by signing again: `found` keeps a trial's cause when it reproduces the
 * signature received, `foundInSecretKey` the first whitespace mistake in the secret key that does.
 */
function mistakeTrials<T extends { secretKey?: string }>(matches: (t: T) => boolean, secretKey: string, causes: string[]) {
  const found = (t: T, cause: string): boolean => {
    if (!matches(t)) return false;
    causes.push(cause);
    return true;
  };
  const foundInSecretKey = (trial: (secretKey: string) => T): boolean =>
    SECRET_MISTAKES.some(([what, mistake]) =>
      found(trial(mistake(secretKey)), `The request was signed with the SecretKey plus ${what}: trim the key before use.`),
    );
  return { found, foundInSecretKey };
}

function clockPart(nowSeconds: number, timestamp: string | undefined) {
  const ts = timestampSeconds(timestamp);
  return {
    serverTime: new Date(nowSeconds * 1000).toISOString(),
    requestTimestamp: ts,
    offsetSeconds: ts === undefined ? undefined : ts - nowSeconds,
    windowSeconds: TIMESTAMP_WINDOW_SECONDS,
  };
}

function clockCause(offset: number | undefined): string | undefined {
  if (offset === undefined || Math.abs(offset) <= TIMESTAMP_WINDOW_SECONDS) return undefined;
  const how = offset < 0 ? "behind" : "ahead of";
  return (
    `The request's timestamp is ${Math.abs(offset)} s ${how} the server's clock; the window is ±${TIMESTAMP_WINDOW_SECONDS} s. ` +
    "Sync the client's clock (NTP), or, if the server's clock was moved on purpose (SANYAO_CLOCK, SANYAO_CLOCK_OFFSET_S), that is the cause."
  );
}

/** Host forms a client may have signed: as received, without or with a port, as a proxy saw it before rewriting it (at most 6). */
function candidateHosts(req: RequestHead, localPort: number | undefined): Array<{ host: string; origin: string }> {
  const out: Array<{ host: string; origin: string }> = [];
  const add = (host: string | undefined, origin: string) => {
    if (!host) return;
    for (const form of hostForms(host, true)) if (!out.some((o) => o.host === form)) out.push({ host: form, origin });
  };
  const received = requestHeader(req, "host");
  add(received, "Host");
  add(requestHeader(req, "x-forwarded-host")?.split(",")[0]?.trim(), "X-Forwarded-Host");
  if (received && localPort !== undefined) add(`${received.replace(/:\d+$/, "")}:${localPort}`, "the server's port");
  return out;
}

const hostMistake = (host: string, origin: string, receivedHost: string | undefined) =>
  `The request was signed for host "${echo(host)}" (${origin}), but the server received Host "${echo(receivedHost ?? "")}"${
    host.includes(":") && !receivedHost?.includes(":") ? ": the endpoint was signed with a port the Host header does not carry" : ""
  }. Sign the host the server receives, or have the proxy pass the Host header on unchanged.`;

/** The query with each value replaced by a keyed hash; past SHOWN_MAX characters the rest is counted, not masked. */
function maskedQuery(query: string, mask: (v: string) => string): string {
  if (query === "") return "";
  const pairs = query.split("&");
  const shown: string[] = [];
  let length = 0;
  for (const pair of pairs) {
    if (length > SHOWN_MAX) return `${shown.join("&")}&…(${pairs.length - shown.length} more)`;
    const eq = pair.indexOf("=");
    const masked = eq === -1 ? pair : `${pair.slice(0, eq)}=<${mask(pair.slice(eq + 1))}>`;
    shown.push(masked);
    length += masked.length + 1;
  }
  return shown.join("&");
}

function compactJson(text: string): string | undefined {
  try {
    const compact = JSON.stringify(JSON.parse(text));
    return compact === text ? undefined : compact;
  } catch {
    return undefined;
  }
}

/** A body not read (the call was refused before) is diagnosed as empty; one past the limit is only measured. */
function bodyEvidence(body: Buffer | undefined): BodyEvidence {
  if (!body) return { bytes: 0, hash: EMPTY_SHA256 };
  if (body.length > DIAGNOSIS_BODY_LIMIT) return { bytes: body.length };
  const compact = compactJson(body.toString("utf8"));
  return { bytes: body.length, hash: sha256Hex(body), compactHash: compact === undefined ? undefined : sha256Hex(compact) };
}

async function diagnoseTc3(r: Refusal, authorization: string, body: BodyEvidence, deps: DiagnoseDeps): Promise<SignatureDiagnosis> {
  const timestamp = requestHeader(r.req, "x-tc-timestamp");
  const clock = clockPart(r.nowSeconds, timestamp);
  const base = { requestId: r.requestId, code: r.code, signatureMethod: TC3_ALGORITHM, clock, hostsTried: [] as string[] };
  const auth = parseTc3Authorization(authorization);
  if (!auth) {
    return {
      ...base,
      likelyCauses: [
        "The Authorization header is not `TC3-HMAC-SHA256 Credential=SECRETID/DATE/SERVICE/tc3_request, SignedHeaders=…, " +
          "Signature=<64 hex digits>`.",
      ],
    };
  }
  const { secretId, date, service } = auth;
  const causes: string[] = [];
  const clockMistake = clockCause(clock.offsetSeconds);
  if (clockMistake) causes.push(clockMistake);
  const result: SignatureDiagnosis = {
    ...base,
    secretId: echo(secretId),
    receivedScope: echo(`${secretId}/${credentialScope(date, service)}`),
    likelyCauses: causes,
  };
  if (clock.requestTimestamp === undefined || timestamp === undefined) {
    causes.push("X-TC-Timestamp is missing or not Unix seconds.");
    return result;
  }
  const expectedDate = utcDate(clock.requestTimestamp);
  result.expectedScope = echo(`${secretId}/${credentialScope(expectedDate, service)}`);
  if (r.code === "AuthFailure.SignatureExpire") return result;
  const credential = await credentialOf(secretId, deps, causes);
  if (!credential) return result;
  if (date !== expectedDate) {
    causes.push(
      `The credential scope's date is ${echo(date)}, but the UTC date of X-TC-Timestamp ${clock.requestTimestamp} is ${expectedDate}: ` +
        "the scope carries the timestamp's UTC date (a local date, such as China time before 08:00, is the usual mistake).",
    );
  }

  result.signedHeaders = auth.signedNames.map(echo);
  const missing = missingSignedHeaders(r.req, auth.signedNames);
  const call = tc3SignedCall(r.req, auth, timestamp);
  if (missing.length > 0 || !call) {
    causes.push(`SignedHeaders names ${echo(missing.join(", "))}, which the request does not carry (a proxy may have removed it).`);
    return result;
  }
  const hosts = candidateHosts(r.req, deps.localPort);
  result.hostsTried = hosts.map((h) => echo(h.host));
  const hash = body.hash;
  if (hash === undefined) {
    causes.push(tooLarge(`The body is ${body.bytes} bytes`, "bytes"));
    return result;
  }

  const receivedHost = call.hostIndex === -1 ? undefined : call.values[call.hostIndex]?.toLowerCase();
  const shown = {
    ...call,
    query: maskedQuery(call.query, deps.mask),
    values: call.values.map((v, i) => (call.signedNames[i] === "x-tc-token" ? `<${deps.mask(v)}>` : v)),
  };
  result.canonicalRequest = clip(tc3CanonicalRequest(shown, receivedHost, `<${deps.mask(hash)}>`), SHOWN_MAX);
  const toSign = stringToSign(call.timestamp, credentialScope(date, service), tc3CanonicalRequest(call, receivedHost, hash));
  result.stringToSign = clip(
    toSign.replace(/[0-9a-f]{64}$/, (h) => `<${deps.mask(h)}>`),
    SHOWN_MAX,
  );

  interface Trial {
    secretKey?: string;
    date?: string;
    service?: string;
    host?: string;
    payloadHash?: string;
  }
  // The host as received is tried in the forms the verifier tries; a trial of another host tries that host alone.
  const receivedForms: Array<string | undefined> = receivedHost === undefined ? [undefined] : hostForms(receivedHost, false);
  const matches = (t: Trial) =>
    tc3SignatureMatches(
      call,
      // The call's own key is the one the verifier cached; a mistaken one is derived anew, to stay out of that cache.
      t.secretKey === undefined && t.date === undefined && t.service === undefined
        ? signingKey(credential.secretKey, date, service)
        : deriveSigningKey(t.secretKey ?? credential.secretKey, t.date ?? date, t.service ?? service),
      t.payloadHash ?? hash,
      t.host !== undefined ? [t.host] : receivedForms,
      auth.signature,
    );
  const { found, foundInSecretKey } = mistakeTrials(matches, credential.secretKey, causes);
  if (foundInSecretKey((secretKey) => ({ secretKey }))) return result;
  for (const { host, origin } of hosts) {
    if (receivedForms.includes(host)) continue;
    if (found({ host }, hostMistake(host, origin, receivedHost))) return result;
  }
  if (
    date !== expectedDate &&
    found({ date: expectedDate }, "The signing key was derived with the right date; only the scope string's date is wrong.")
  )
    return result;
  for (const other of ["faceid", "kms"]) {
    if (other === service) continue;
    if (
      found(
        { service: other },
        `The signing key was derived with the service "${other}", but the credential scope says "${echo(service)}": use one service name for both.`,
      )
    )
      return result;
  }
  const payloads: Array<[string, string]> = [
    [EMPTY_SHA256, "The signature covers an empty body, but the request has one: sign the body that is sent."],
    ["UNSIGNED-PAYLOAD", "The request was signed with an UNSIGNED-PAYLOAD hash, which this API does not accept: sign the body."],
  ];
  if (body.compactHash !== undefined) {
    payloads.unshift([
      body.compactHash,
      "The body was changed after signing: the signature matches the same JSON written compactly, so a proxy or middleware re-serialised it. Send the body exactly as signed.",
    ]);
  }
  for (const [payloadHash, cause] of payloads) if (found({ payloadHash }, cause)) return result;
  if (causes.length === 0) {
    causes.push(
      "No single usual mistake explains it: the SecretKey is not this key's (another key's secret, or another installation's), " +
        "or the body or a signed header changed between signing and sending.",
    );
  }
  return result;
}

/** Common parameters shown as sent; the others, the Signature and the session Token are masked. */
const SHOWN_AS_SENT = new Set([...COMMON_PARAMS].filter((name) => name !== "Signature" && name !== "Token"));

/** v1's string to sign with values masked; past SHOWN_MAX characters the remaining parameters are counted, not masked. */
function maskedV1StringToSign(req: RequestHead, host: string, params: ReadonlyMap<string, string>, mask: (v: string) => string): string {
  const shown = new Map<string, string>();
  let length = 0;
  let more = 0;
  for (const name of [...params.keys()].sort()) {
    if (name === "Signature") continue;
    if (length > SHOWN_MAX) {
      more++;
      continue;
    }
    const value = params.get(name) ?? "";
    const masked = SHOWN_AS_SENT.has(name) ? value : `<${mask(value)}>`;
    shown.set(name, masked);
    length += name.length + masked.length + 2;
  }
  const text = clip(v1StringToSign(req.method, host, req.path, shown), SHOWN_MAX);
  return more === 0 ? text : `${text}&…(${more} more parameters)`;
}

/** What a v1 diagnosis takes from the parameters: the common ones, and the rest only within the limit. */
interface V1Evidence {
  timestamp?: string;
  signatureMethod?: string;
  secretId?: string;
  signature: Buffer;
  /** as many characters as a form body of the parameters would be */
  length: number;
  params?: ReadonlyMap<string, string>;
}

function v1Evidence(flat: ReadonlyMap<string, string>): V1Evidence {
  let length = 0;
  for (const [name, value] of flat) length += name.length + value.length + 2;
  const within = length <= DIAGNOSIS_BODY_LIMIT;
  return {
    timestamp: flat.get("Timestamp"),
    signatureMethod: flat.get("SignatureMethod"),
    secretId: flat.get("SecretId"),
    signature: within ? v1SignatureBytes(flat.get("Signature") ?? "") : Buffer.alloc(0),
    length,
    params: within ? flat : undefined,
  };
}

async function diagnoseV1(r: Refusal, v1: V1Evidence, deps: DiagnoseDeps): Promise<SignatureDiagnosis> {
  const clock = clockPart(r.nowSeconds, v1.timestamp);
  const algorithm = v1Algorithm(v1.signatureMethod);
  const { secretId, params } = v1;
  const causes: string[] = [];
  const result: SignatureDiagnosis = {
    requestId: r.requestId,
    code: r.code,
    signatureMethod: algorithm,
    secretId: secretId === undefined ? undefined : echo(secretId),
    clock,
    hostsTried: [],
    likelyCauses: causes,
  };
  const clockMistake = clockCause(clock.offsetSeconds);
  if (clockMistake) causes.push(clockMistake);
  if (r.code === "AuthFailure.SignatureExpire" || !secretId) {
    if (causes.length === 0) causes.push("The common parameters Timestamp, Nonce, SecretId and Signature must all be present.");
    return result;
  }
  const credential = await credentialOf(secretId, deps, causes);
  if (!credential) return result;
  const hosts = candidateHosts(r.req, deps.localPort);
  result.hostsTried = hosts.map((h) => echo(h.host));
  if (!params) {
    causes.push(tooLarge(`The parameters are ${v1.length} characters long`, "characters"));
    return result;
  }
  const receivedHost = requestHeader(r.req, "host");
  const receivedForms = hostForms(receivedHost ?? "", true);
  result.stringToSign = maskedV1StringToSign(r.req, receivedForms[0] ?? "", params, deps.mask);

  // Each host form's string to sign is made once: the trials change the key or the algorithm, not the parameters.
  const toSign = new Map<string, string>();
  const toSignFor = (host: string) => {
    let text = toSign.get(host);
    if (text === undefined) {
      text = v1StringToSign(r.req.method, host, r.req.path, params);
      toSign.set(host, text);
    }
    return text;
  };
  type Trial = { secretKey?: string; host?: string; algorithm?: V1Algorithm };
  const matches = (t: Trial) =>
    (t.host !== undefined ? [t.host] : receivedForms).some((host) =>
      v1SignatureIs(toSignFor(host), t.algorithm ?? algorithm, t.secretKey ?? credential.secretKey, v1.signature),
    );
  const { found, foundInSecretKey } = mistakeTrials(matches, credential.secretKey, causes);
  if (foundInSecretKey((secretKey) => ({ secretKey }))) return result;
  for (const { host, origin } of hosts) {
    if (receivedForms.includes(host)) continue;
    if (found({ host }, hostMistake(host, origin, receivedForms[0]))) return result;
  }
  const other: V1Algorithm = algorithm === "HmacSHA1" ? "HmacSHA256" : "HmacSHA1";
  if (
    found(
      { algorithm: other },
      `The request was signed with ${other} but says SignatureMethod=${echo(v1.signatureMethod ?? "(none: HmacSHA1)")}.`,
    )
  )
    return result;
  if (causes.length === 0) {
    causes.push(
      "No single usual mistake explains it: the SecretKey is not this key's, or a parameter changed between signing and sending " +
        "(v1 signs every parameter's value, unencoded, in name order).",
    );
  }
  return result;
}

/** A refused call that is only noted, not diagnosed: what it says costs no key lookup and no signing. */
export function notDiagnosed(f: AuthFailure, why: string): SignatureDiagnosis {
  const authorization = requestHeader(f.req, "authorization");
  return {
    requestId: f.requestId,
    code: f.code,
    signatureMethod: authorization !== undefined ? TC3_ALGORITHM : f.flat ? v1Algorithm(f.flat.get("SignatureMethod")) : "unknown",
    clock: clockPart(f.nowSeconds, authorization !== undefined ? requestHeader(f.req, "x-tc-timestamp") : f.flat?.get("Timestamp")),
    hostsTried: [],
    likelyCauses: [why],
  };
}

export function diagnose(f: AuthFailure, deps: DiagnoseDeps): Promise<SignatureDiagnosis> {
  const refusal: Refusal = { requestId: f.requestId, code: f.code, req: f.req, nowSeconds: f.nowSeconds };
  const authorization = requestHeader(f.req, "authorization");
  // The body and parameters are measured (and within the limit hashed) here, before the key is looked up, so that
  // a diagnosis waiting for its key holds no more of the call than it needs.
  if (authorization !== undefined) return diagnoseTc3(refusal, authorization, bodyEvidence(f.body), deps);
  if (f.flat) return diagnoseV1(refusal, v1Evidence(f.flat), deps);
  return Promise.resolve({
    requestId: f.requestId,
    code: f.code,
    signatureMethod: "unknown",
    clock: clockPart(f.nowSeconds, undefined),
    hostsTried: [],
    likelyCauses: ["The request carries neither a TC3 Authorization header nor v1 parameters."],
  });
}
