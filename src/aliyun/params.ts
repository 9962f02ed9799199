/**
 * Where an Alibaba call's parameters are (alibaba-cloudauth.md §2.6, §8.11): the query string, a form body or a
 * JSON body, merged; a name given twice, in one place or in two, is refused rather than guessed at.
 */
import { GatewayError } from "./errors";

/** Names that carry the protocol (V2's common parameters), never the business. */
export const COMMON_PARAMS: ReadonlySet<string> = new Set([
  "Action",
  "Version",
  "Format",
  "Timestamp",
  "SignatureNonce",
  "SignatureMethod",
  "SignatureVersion",
  "SignatureType",
  "AccessKeyId",
  "Signature",
  "SecurityToken",
  "RegionId",
]);

/**
 * How many parameters one call may carry, query and body together: the SDKs send a dozen common ones and each action
 * reads at most five more. Counted before any is decoded, so a body of a million empty ones costs a scan, not a
 * million decodings, masks and percent-encodings.
 */
export const MAX_PARAMS = 100;

function withinCount(into: Map<string, string>, more: number): void {
  if (into.size + more > MAX_PARAMS) {
    throw new GatewayError("InvalidParameter", `A call carries at most ${MAX_PARAMS} parameters, query and body together.`);
  }
}

/** How many `&`-separated pieces the text has: at least as many as the parameters it decodes to. */
function pieces(text: string): number {
  let n = 1;
  for (let at = text.indexOf("&"); at !== -1 && n <= MAX_PARAMS; at = text.indexOf("&", at + 1)) n++;
  return n;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function utf8(body: Buffer): string {
  try {
    return UTF8.decode(body);
  } catch {
    throw new GatewayError("InvalidParameter", "The body is not valid UTF-8.");
  }
}

/** A surrogate without its pair (a JSON `\ud800`) has no UTF-8 form: it can be neither signed nor read. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function once(into: Map<string, string>, name: string, value: string): void {
  if (LONE_SURROGATE.test(name) || LONE_SURROGATE.test(value)) {
    throw new GatewayError("InvalidParameter", "A parameter is not well-formed Unicode (a lone surrogate).");
  }
  if (into.has(name)) throw new GatewayError("InvalidParameter", "A parameter is given more than once.");
  into.set(name, value);
}

/** Form or query text, decoded (`+` is a space, as forms have it). */
export function formPairs(text: string, into: Map<string, string> = new Map()): Map<string, string> {
  if (text === "") return into;
  withinCount(into, pieces(text));
  for (const [k, v] of new URLSearchParams(text)) once(into, k, v);
  return into;
}

/** The body's parameters by its content type: form, JSON object of scalars, or none. */
export function bodyPairs(contentType: string, body: Buffer, into: Map<string, string>): Map<string, string> {
  if (body.length === 0) return into;
  const type = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") return formPairs(utf8(body), into);
  if (type === "application/json") {
    let value: unknown;
    try {
      value = JSON.parse(utf8(body));
    } catch {
      throw new GatewayError("InvalidParameter", "The body is not valid JSON.");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new GatewayError("InvalidParameter", "The body must be a JSON object.");
    }
    withinCount(into, Object.keys(value).length);
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === "string") once(into, k, v);
      else if (typeof v === "number" || typeof v === "boolean") once(into, k, String(v));
      else if (v !== null) throw new GatewayError("InvalidParameter", "JSON parameters must be strings, numbers or booleans.");
    }
    return into;
  }
  // Any other body (a file upload, text) carries no parameter these actions read.
  return into;
}
