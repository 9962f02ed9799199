/**
 * The tokens of the operations API (/_sanyao/…). The operator token may do everything; the read-only token sees
 * everything and changes nothing. SANYAO_ADMIN_TOKEN and SANYAO_READ_ONLY_TOKEN set them; otherwise an embedded
 * installation keeps them in its data directory (mode 0600): the operator token made at first start, the
 * read-only one by `sanyao admin-token create --read-only`. No token at all: the API is off.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const ADMIN_TOKEN_FILE = "admin-token";
export const READ_ONLY_TOKEN_FILE = "admin-token-read-only";

export type TokenKind = "operator" | "read-only";

const FILES: Record<TokenKind, string> = { operator: ADMIN_TOKEN_FILE, "read-only": READ_ONLY_TOKEN_FILE };

export const adminTokenPath = (dataDir: string, kind: TokenKind = "operator"): string => path.join(dataDir, FILES[kind]);

/** Writes a new token file (never over an existing one); returns the token. */
export function createAdminToken(dataDir: string, kind: TokenKind = "operator"): string {
  const token = `${kind === "operator" ? "sy_" : "syr_"}${randomBytes(24).toString("base64url")}`;
  fs.writeFileSync(adminTokenPath(dataDir, kind), `${token}\n`, { mode: 0o600, flag: "wx" });
  return token;
}

export function readAdminToken(dataDir: string, kind: TokenKind = "operator"): string | undefined {
  try {
    return fs.readFileSync(adminTokenPath(dataDir, kind), "utf8").trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The token in force: the environment's, else the data directory's (made now if the installation is new). */
export function adminTokenFor(
  configured: string | undefined,
  dataDir: string | undefined,
  freshInstallation: boolean,
): { token: string | undefined; created: boolean } {
  if (configured) return { token: configured, created: false };
  if (dataDir === undefined) return { token: undefined, created: false };
  const existing = readAdminToken(dataDir);
  if (existing || !freshInstallation) return { token: existing, created: false };
  return { token: createAdminToken(dataDir), created: true };
}

/** The read-only token in force: the environment's, else the data directory's; never made at start. */
export function readOnlyTokenFor(configured: string | undefined, dataDir: string | undefined): string | undefined {
  return configured || (dataDir === undefined ? undefined : readAdminToken(dataDir, "read-only"));
}

/** `Authorization: Bearer TOKEN`, compared in constant time: digests of both, so not even the length tells. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const [, bearer] = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "") ?? [];
  if (bearer === undefined) return false;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(bearer), digest(token));
}

export interface Tokens {
  operator: string | undefined;
  readOnly: string | undefined;
}

/** Who calls: the operator (may change things), a reader (sees everything), or anyone (no valid token). */
export type Caller = "operator" | "reader" | "anyone";

/** The caller a token given as such (the console's sign-in) stands for; the same comparison as a bearer token's. */
export function callerOfToken(token: string, tokens: Tokens): Caller {
  return /^\S+$/.test(token) ? callerOf(`Bearer ${token}`, tokens) : callerOf(undefined, tokens);
}

export function callerOf(authorization: string | undefined, tokens: Tokens): Caller {
  // Both compared, whichever matches: the time taken tells nothing about either token.
  const operator = tokens.operator !== undefined && bearerMatches(authorization, tokens.operator);
  const reader = tokens.readOnly !== undefined && bearerMatches(authorization, tokens.readOnly);
  return operator ? "operator" : reader ? "reader" : "anyone";
}
