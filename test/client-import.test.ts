/**
 * `require("sanyao")`, the typed client, loads no storage driver: better-sqlite3, pg and ioredis come in only when
 * an installation of their mode is opened. Measured in a child process, from the built main export.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { it } from "node:test";
import { repoRoot } from "./helpers/paths";

const LOADED = `
const sanyao = require("sanyao");
const drivers = Object.keys(require.cache).filter((f) => /[\\\\/]node_modules[\\\\/](better-sqlite3|pg|ioredis)[\\\\/]/.test(f));
console.log(JSON.stringify({ drivers: drivers.map((f) => f.replace(/.*node_modules[\\\\/]/, "")), startServer: typeof sanyao.startServer, client: typeof sanyao.FaceIdClient }));
`;

it("requiring the package's main export loads no storage driver, and still offers startServer", () => {
  const out = JSON.parse(execFileSync(process.execPath, ["-e", LOADED], { cwd: repoRoot, encoding: "utf8" })) as {
    drivers: string[];
    startServer: string;
    client: string;
  };
  assert.deepEqual(out, { drivers: [], startServer: "function", client: "function" });
});
