/**
 * The operator token of the operations API (/_sanyao/…). SANYAO_ADMIN_TOKEN sets it; otherwise an embedded
 * installation keeps one in its data directory (mode 0600), made at first start. No token: the API is off.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const ADMIN_TOKEN_FILE = "admin-token";

export const adminTokenPath = (dataDir: string): string => path.join(dataDir, ADMIN_TOKEN_FILE);

/** Writes a new token file (never over an existing one); returns the token. */
export function createAdminToken(dataDir: string): string {
  const token = `sy_${randomBytes(24).toString("base64url")}`;
  fs.writeFileSync(adminTokenPath(dataDir), `${token}\n`, { mode: 0o600, flag: "wx" });
  return token;
}

export function readAdminToken(dataDir: string): string | undefined {
  try {
    return fs.readFileSync(adminTokenPath(dataDir), "utf8").trim() || undefined;
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

/** `Authorization: Bearer TOKEN`, compared in constant time. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const [, bearer] = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "") ?? [];
  if (bearer === undefined) return false;
  const given = Buffer.from(bearer);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
