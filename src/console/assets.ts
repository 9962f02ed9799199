/**
 * The console's files, built into dist/console by `npm run build:console`: served under /_sanyao/console/ with no
 * token (they hold no data). A path that is no file gets index.html, so the console's own URLs
 * (/_sanyao/console/requests/<RequestId>) load it; under assets/ it is a 404 (a missing script is not a page). Only
 * files inside the directory are served, a symlink's target included. A strict Content-Security-Policy: no inline
 * script or style, nothing from another origin. Content-hashed files under assets/ are cached for good; index.html
 * is asked again.
 */
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { gzipSync } from "node:zlib";

export const CONSOLE_PREFIX = "/_sanyao/console";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt", ".map"]);

interface Loaded {
  mtimeMs: number;
  raw: Buffer;
  gzip: Buffer | undefined;
}

/** Serves the console's files from `dir`; answers whether the path was the console's. */
export function consoleAssets(dir: string): (req: IncomingMessage, res: ServerResponse, urlPath: string) => boolean {
  const root = path.resolve(dir);
  const loaded = new Map<string, Loaded>();

  const load = (file: string): Loaded | undefined => {
    let stat: fs.Stats;
    try {
      // a symlink is followed only to a file inside the directory (itself maybe reached through a symlink)
      const real = fs.realpathSync(file);
      if (!real.startsWith(fs.realpathSync(root) + path.sep)) return undefined;
      stat = fs.statSync(real);
    } catch {
      return undefined;
    }
    if (!stat.isFile()) return undefined;
    const known = loaded.get(file);
    if (known?.mtimeMs === stat.mtimeMs) return known;
    const raw = fs.readFileSync(file);
    const entry = {
      mtimeMs: stat.mtimeMs,
      raw,
      gzip: COMPRESSIBLE.has(path.extname(file)) && raw.length > 256 ? gzipSync(raw) : undefined,
    };
    if (loaded.size > 500) loaded.clear();
    loaded.set(file, entry);
    return entry;
  };

  /** The file a path names inside the directory, or undefined (a path that climbs out names nothing). */
  const fileOf = (rest: string): string | undefined => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rest);
    } catch {
      return undefined;
    }
    if (decoded.includes("\0")) return undefined;
    const file = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
    return file.startsWith(root + path.sep) ? file : undefined;
  };

  return (req, res, urlPath) => {
    if (urlPath !== CONSOLE_PREFIX && !urlPath.startsWith(`${CONSOLE_PREFIX}/`)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res
        .writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" })
        .end(JSON.stringify({ error: `${urlPath} answers GET.` }));
      return true;
    }
    if (urlPath === CONSOLE_PREFIX) {
      res.writeHead(308, { location: `${CONSOLE_PREFIX}/` }).end();
      return true;
    }
    const named = fileOf(urlPath.slice(CONSOLE_PREFIX.length + 1));
    const asked = named === undefined ? undefined : load(named);
    const underAssets = named !== undefined && path.relative(root, named).split(path.sep)[0] === "assets";
    if (!asked && underAssets) {
      notFound(res, `${urlPath}: no such file of the console.`);
      return true;
    }
    const index = path.join(root, "index.html");
    const file = asked ? named : index;
    const found = asked ?? load(index);
    if (file === undefined || !found) {
      // the directory is not named: an anonymous client has no use for the install's path
      notFound(res, "The console is not built: run `npm run build:console` (or set SANYAO_CONSOLE_DIR).");
      return true;
    }
    const hashed = file !== index && underAssets;
    const gzip = found.gzip && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? "")) ? found.gzip : undefined;
    const body = gzip ?? found.raw;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "content-length": body.length,
      "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
      vary: "Accept-Encoding",
      ...(gzip && { "content-encoding": "gzip" }),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}

function notFound(res: ServerResponse, error: string): void {
  res.writeHead(404, { "content-type": "application/json", ...SECURITY_HEADERS }).end(JSON.stringify({ error }));
}
