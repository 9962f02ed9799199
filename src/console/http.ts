/**
 * What the console reads from and writes to a request's HTTP: the session cookie, whether the request came over
 * TLS (directly, or as a proxy in front says), and whether its Origin is this server's own.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

export const COOKIE_NAME = "sanyao_session";
export const CSRF_HEADER = "x-sanyao-csrf";
const COOKIE_PATH = "/_sanyao";

export function sessionCookie(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === COOKIE_NAME) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Over TLS: the socket is, or the proxy that ends TLS says so (X-Forwarded-Proto). Trusting that header costs
 * nothing: a client that lies only makes its own cookie Secure.
 */
export function overTls(req: IncomingMessage): boolean {
  const forwarded = req.headers["x-forwarded-proto"];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim().toLowerCase();
  return (req.socket as Partial<TLSSocket>).encrypted === true || proto === "https";
}

export function setCookie(req: IncomingMessage, value: string, maxAgeS: number): string {
  const secure = overTls(req) ? "; Secure" : "";
  return `${COOKIE_NAME}=${value}; HttpOnly; SameSite=Strict; Path=${COOKIE_PATH}; Max-Age=${Math.max(0, Math.floor(maxAgeS))}${secure}`;
}

/**
 * An Origin header naming another host than the one the request was sent to (a missing Origin is no refusal). The
 * scheme is not compared: behind a proxy that ends TLS the browser says https and this server sees http.
 */
export function foreignOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return true; // "null" (a sandboxed page, a file) and anything unreadable
  }
  // The Host header only: X-Forwarded-Host is the client's to write (no proxy is trusted to set it), so a page of
  // another site could name itself there. A proxy in front passes the Host it was sent (nginx: proxy_set_header Host $host).
  const host = req.headers.host;
  return host === undefined || url.host !== host.toLowerCase();
}

/** The CSRF header matches the session's, compared in constant time. */
export function csrfMatches(req: IncomingMessage, csrf: string): boolean {
  const given = req.headers[CSRF_HEADER];
  if (typeof given !== "string") return false;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(csrf));
}
