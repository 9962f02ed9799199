/**
 * Signature diagnostics: for a call refused with AuthFailure.*, what the server computed (canonical request,
 * string to sign, scope, hosts tried, clock offset) and the likely cause, found by signing the request again with
 * one usual mistake at a time. Values are never kept: query values, the body and hashes of them are replaced by
 * keyed hashes, so a diagnosis can be shown to whoever holds the operator token.
 */
import type { AuthFailure } from "./pipeline";
import { hostForms, type KeyResolver, TIMESTAMP_WINDOW_SECONDS } from "./authenticate";
import { COMMON_PARAMS } from "./params";
import { EMPTY_SHA256, canonicalRequest, sha256Hex, signingKey, stringToSign, TC3_ALGORITHM, tc3Signature, utcDate } from "./tc3";
import { type V1Algorithm, v1Algorithm, v1Signature, v1StringToSign } from "./v1";

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

const AUTHORIZATION = /^TC3-HMAC-SHA256\s+Credential=([^,\s]*)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]{64})\s*$/;

function header(f: AuthFailure, name: string): string | undefined {
  const v = f.req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** The secret key as a caller may have mistyped it: a space, tab or newline around it. */
const SECRET_MISTAKES: ReadonlyArray<readonly [string, (k: string) => string]> = [
  ["a trailing space", (k) => `${k} `],
  ["a leading space", (k) => ` ${k}`],
  ["a trailing newline (a key read from a file without trimming it)", (k) => `${k}\n`],
  ["a trailing CR LF (a key read from a Windows file)", (k) => `${k}\r\n`],
  ["a trailing tab", (k) => `${k}\t`],
];

const unknownKey = (secretId: string) =>
  `No enabled key has the SecretId ${secretId}: it was made in another installation or data directory, it is disabled, or it is mistyped.`;

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

function clockPart(f: AuthFailure, timestamp: string | undefined) {
  const ts = timestamp !== undefined && /^\d{1,12}$/.test(timestamp.trim()) ? Number(timestamp.trim()) : undefined;
  return {
    serverTime: new Date(f.nowSeconds * 1000).toISOString(),
    requestTimestamp: ts,
    offsetSeconds: ts === undefined ? undefined : ts - f.nowSeconds,
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

/** Host forms a client may have signed: as received, without or with a port, as a proxy saw it before rewriting it. */
function candidateHosts(f: AuthFailure, localPort: number | undefined): Array<{ host: string; origin: string }> {
  const out: Array<{ host: string; origin: string }> = [];
  const add = (host: string | undefined, origin: string) => {
    if (!host) return;
    for (const form of hostForms(host, true)) if (!out.some((o) => o.host === form)) out.push({ host: form, origin });
  };
  const received = header(f, "host");
  add(received, "Host");
  add(header(f, "x-forwarded-host")?.split(",")[0]?.trim(), "X-Forwarded-Host");
  if (received && localPort !== undefined) add(`${received.replace(/:\d+$/, "")}:${localPort}`, "the server's port");
  return out;
}

function maskedQuery(query: string, mask: (v: string) => string): string {
  if (query === "") return "";
  return query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq === -1) return pair;
      return `${pair.slice(0, eq)}=<${mask(pair.slice(eq + 1))}>`;
    })
    .join("&");
}

function compactJson(body: Buffer): string | undefined {
  try {
    const compact = JSON.stringify(JSON.parse(body.toString("utf8")));
    return compact === body.toString("utf8") ? undefined : compact;
  } catch {
    return undefined;
  }
}

async function diagnoseTc3(f: AuthFailure, authorization: string, deps: DiagnoseDeps): Promise<SignatureDiagnosis> {
  const timestamp = header(f, "x-tc-timestamp");
  const clock = clockPart(f, timestamp);
  const base = { requestId: f.requestId, code: f.code, signatureMethod: TC3_ALGORITHM, clock, hostsTried: [] as string[] };
  const m = AUTHORIZATION.exec(authorization.trim());
  const scope = m?.[1]?.split("/");
  if (!m || !scope || scope.length !== 4 || scope[3] !== "tc3_request") {
    return {
      ...base,
      likelyCauses: [
        "The Authorization header is not `TC3-HMAC-SHA256 Credential=SECRETID/DATE/SERVICE/tc3_request, SignedHeaders=…, " +
          "Signature=<64 hex digits>`.",
      ],
    };
  }
  const [secretId, date, service] = scope as [string, string, string, string];
  const causes: string[] = [];
  const clockMistake = clockCause(clock.offsetSeconds);
  if (clockMistake) causes.push(clockMistake);
  const result: SignatureDiagnosis = { ...base, secretId, receivedScope: m[1], likelyCauses: causes };
  if (clock.requestTimestamp === undefined) {
    causes.push("X-TC-Timestamp is missing or not Unix seconds.");
    return result;
  }
  const expectedDate = utcDate(clock.requestTimestamp);
  result.expectedScope = `${secretId}/${expectedDate}/${service}/tc3_request`;
  if (f.code === "AuthFailure.SignatureExpire") return result;
  const credential = await deps.keys(secretId);
  if (!credential) {
    causes.push(unknownKey(secretId));
    return result;
  }
  if (date !== expectedDate) {
    causes.push(
      `The credential scope's date is ${date}, but the UTC date of X-TC-Timestamp ${clock.requestTimestamp} is ${expectedDate}: ` +
        "the scope carries the timestamp's UTC date (a local date, such as China time before 08:00, is the usual mistake).",
    );
  }

  const signedNames = m[2]!.toLowerCase().split(";");
  result.signedHeaders = signedNames;
  const missing = signedNames.filter((n) => header(f, n) === undefined);
  if (missing.length > 0) {
    causes.push(`SignedHeaders names ${missing.join(", ")}, which the request does not carry (a proxy may have removed it).`);
    return result;
  }
  const values = signedNames.map((n) => header(f, n)!.trim().toLowerCase());
  const hostIndex = signedNames.indexOf("host");
  const body = f.body ?? Buffer.alloc(0);
  const expected = m[3]!.toLowerCase();
  const hosts = candidateHosts(f, deps.localPort);
  result.hostsTried = hosts.map((h) => h.host);

  interface Trial {
    secretKey?: string;
    date?: string;
    service?: string;
    host?: string;
    payloadHash?: string;
  }
  const sign = (t: Trial) => {
    const headers = signedNames.map((n, i) => [n, i === hostIndex && t.host !== undefined ? t.host : values[i]!] as const);
    const canonical = canonicalRequest({
      method: f.req.method,
      path: f.req.path,
      query: f.req.rawQuery,
      headers,
      hashedPayload: t.payloadHash ?? sha256Hex(body),
    });
    // The scope in the string to sign is the one sent; a trial changes only what the key was derived from.
    const toSign = stringToSign(timestamp!.trim(), `${date}/${service}/tc3_request`, canonical);
    const key = signingKey(t.secretKey ?? credential.secretKey, t.date ?? date, t.service ?? service);
    return { canonical, toSign, signature: tc3Signature(key, toSign) };
  };
  const receivedHost = hostIndex === -1 ? undefined : values[hostIndex];
  const asReceived = sign({ host: receivedHost });
  result.canonicalRequest = asReceived.canonical
    .split("\n")
    .map((line, i) =>
      i === 2 ? maskedQuery(line, deps.mask) : i === asReceived.canonical.split("\n").length - 1 ? `<${deps.mask(line)}>` : line,
    )
    .join("\n");
  result.stringToSign = asReceived.toSign.replace(/[0-9a-f]{64}$/, (h) => `<${deps.mask(h)}>`);

  // The host as received was tried with and without its port, as the verifier does: each mistake is tried on both.
  const receivedForms: Array<string | undefined> = receivedHost === undefined ? [undefined] : hostForms(receivedHost, false);
  const matches = (t: Trial) =>
    (t.host !== undefined ? [t.host] : receivedForms).some((host) => sign({ ...t, host }).signature === expected);
  const { found, foundInSecretKey } = mistakeTrials(matches, credential.secretKey, causes);
  if (foundInSecretKey((secretKey) => ({ secretKey }))) return result;
  for (const { host, origin } of hosts) {
    if (receivedForms.includes(host)) continue;
    if (
      found(
        { host },
        `The request was signed for host "${host}" (${origin}), but the server received Host "${receivedHost}"${
          host.includes(":") && !receivedHost?.includes(":") ? ": the endpoint was signed with a port the Host header does not carry" : ""
        }. Sign the host the server receives, or have the proxy pass the Host header on unchanged.`,
      )
    )
      return result;
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
        `The signing key was derived with the service "${other}", but the credential scope says "${service}": use one service name for both.`,
      )
    )
      return result;
  }
  const payloads: Array<[string, string]> = [
    [EMPTY_SHA256, "The signature covers an empty body, but the request has one: sign the body that is sent."],
    ["UNSIGNED-PAYLOAD", "The request was signed with an UNSIGNED-PAYLOAD hash, which this API does not accept: sign the body."],
  ];
  const compact = compactJson(body);
  if (compact !== undefined) {
    payloads.unshift([
      sha256Hex(compact),
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

function maskedV1Params(flat: ReadonlyMap<string, string>, mask: (v: string) => string): Map<string, string> {
  return new Map([...flat].map(([k, v]) => [k, COMMON_PARAMS.has(k) && k !== "Signature" ? v : `<${mask(v)}>`]));
}

async function diagnoseV1(f: AuthFailure, flat: ReadonlyMap<string, string>, deps: DiagnoseDeps): Promise<SignatureDiagnosis> {
  const clock = clockPart(f, flat.get("Timestamp"));
  const method = flat.get("SignatureMethod");
  const algorithm = v1Algorithm(method);
  const secretId = flat.get("SecretId");
  const causes: string[] = [];
  const result: SignatureDiagnosis = {
    requestId: f.requestId,
    code: f.code,
    signatureMethod: algorithm,
    secretId,
    clock,
    hostsTried: [],
    likelyCauses: causes,
  };
  const clockMistake = clockCause(clock.offsetSeconds);
  if (clockMistake) causes.push(clockMistake);
  if (f.code === "AuthFailure.SignatureExpire" || !secretId) {
    if (causes.length === 0) causes.push("The common parameters Timestamp, Nonce, SecretId and Signature must all be present.");
    return result;
  }
  const credential = await deps.keys(secretId);
  if (!credential) {
    causes.push(unknownKey(secretId));
    return result;
  }
  const given = Buffer.from((flat.get("Signature") ?? "").replace(/ /g, "+"), "base64");
  const hosts = candidateHosts(f, deps.localPort);
  result.hostsTried = hosts.map((h) => h.host);
  const receivedHost = hosts[0]?.host ?? "";
  result.stringToSign = v1StringToSign(f.req.method, receivedHost, f.req.path, maskedV1Params(flat, deps.mask));
  type Trial = { secretKey?: string; host?: string; algorithm?: V1Algorithm };
  const matches = (t: Trial) => {
    const toSign = v1StringToSign(f.req.method, t.host ?? receivedHost, f.req.path, flat);
    return v1Signature(t.algorithm ?? algorithm, t.secretKey ?? credential.secretKey, toSign).equals(given);
  };
  const { found, foundInSecretKey } = mistakeTrials(matches, credential.secretKey, causes);
  if (foundInSecretKey((secretKey) => ({ secretKey }))) return result;
  for (const { host, origin } of hosts.slice(1)) {
    const port =
      host.includes(":") && !receivedHost.includes(":") ? ": the endpoint was signed with a port the Host header does not carry" : "";
    if (
      found(
        { host },
        `The request was signed for host "${host}" (${origin}), but the server received Host "${receivedHost}"${port}. Sign the host the server receives, or have the proxy pass the Host header on unchanged.`,
      )
    )
      return result;
  }
  const other: V1Algorithm = algorithm === "HmacSHA1" ? "HmacSHA256" : "HmacSHA1";
  if (found({ algorithm: other }, `The request was signed with ${other} but says SignatureMethod=${method ?? "(none: HmacSHA1)"}.`))
    return result;
  if (causes.length === 0) {
    causes.push(
      "No single usual mistake explains it: the SecretKey is not this key's, or a parameter changed between signing and sending " +
        "(v1 signs every parameter's value, unencoded, in name order).",
    );
  }
  return result;
}

export async function diagnose(f: AuthFailure, deps: DiagnoseDeps): Promise<SignatureDiagnosis> {
  const authorization = header(f, "authorization");
  if (authorization !== undefined) return diagnoseTc3(f, authorization, deps);
  if (f.flat) return diagnoseV1(f, f.flat, deps);
  return {
    requestId: f.requestId,
    code: f.code,
    signatureMethod: "unknown",
    clock: clockPart(f, undefined),
    hostsTried: [],
    likelyCauses: ["The request carries neither a TC3 Authorization header nor v1 parameters."],
  };
}
