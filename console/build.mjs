/**
 * Builds the console into dist/console/: index.html and assets/ with content-hashed names (cached for good by the
 * server; index.html is not). The page holds no inline script or style, as the Content-Security-Policy requires.
 * Type-checks the sources first (esbuild strips types without checking them). Prints what a first visit downloads.
 *   node console/build.mjs            build
 *   node console/build.mjs --no-check build without the type check (a quicker rebuild while editing)
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const out = path.join(root, "dist", "console");
/** Where the server serves the console: asset URLs are absolute, so /_sanyao/console/requests/<id> finds them too. */
const BASE = "/_sanyao/console/";

if (!process.argv.includes("--no-check")) {
  try {
    execFileSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(here, "tsconfig.json")], {
      stdio: "inherit",
    });
  } catch {
    console.error("console: the type check failed (above); nothing was built");
    process.exit(1);
  }
}

fs.rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints: { console: path.join(here, "src", "main.tsx") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome100", "firefox100", "safari15"],
  outdir: path.join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  tsconfig: path.join(here, "tsconfig.json"),
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.relative(path.join(out, "assets"), path.join(root, file)));
const script = outputs.find((f) => f.endsWith(".js"));
const style = outputs.find((f) => f.endsWith(".css"));
if (!script || !style) throw new Error(`console build: expected one .js and one .css, got ${outputs.join(", ")}`);

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sanyao</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${BASE}assets/${style}">
<script type="module" src="${BASE}assets/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The sanyao console needs JavaScript. 控制台需要启用 JavaScript。</noscript>
</body>
</html>
`;
fs.writeFileSync(path.join(out, "index.html"), html);

// What a first visit downloads: the page, its script and its style (raw, and gzipped as the server sends them).
const files = ["index.html", `assets/${script}`, `assets/${style}`].map((f) => fs.readFileSync(path.join(out, f)));
const raw = files.reduce((sum, b) => sum + b.length, 0);
const gzipped = files.reduce((sum, b) => sum + gzipSync(b, { level: 6 }).length, 0);
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`console: dist/console/ built; a first visit downloads ${kb(raw)} (${kb(gzipped)} gzipped)`);
