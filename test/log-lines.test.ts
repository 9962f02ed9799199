/**
 * The server's log (http/log.ts) gathers lines and writes them out a few KiB at a time: every line reaches stdout,
 * whole and in order, whether the process flushes on shutdown, exits without flushing, or logs far more than one
 * batch; and a quiet process's lines go out within the second without any shutdown.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { it } from "node:test";

const LOG_MODULE = path.join(__dirname, "..", "src", "http", "log.js");

/** Runs `body` in a child with `logging` made by createLogging("info"); resolves with its stdout once it exits. */
function childLog(body: string, timeoutMs = 20_000): Promise<string> {
  const script = `const { createLogging } = require(${JSON.stringify(LOG_MODULE)});
const logging = createLogging("info");
const { logger } = logging;
${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the child did not exit; stdout so far: ${out.slice(0, 200)}`));
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function requestNumbers(out: string): number[] {
  return out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { n: number }).n);
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

it("writes every line, in order, when the process exits without flushing", async () => {
  // a few lines (less than one batch), then many (several batches and a remainder), then exit at once
  const out = await childLog(`for (let n = 0; n < 3; n++) logger.info({ n }, "request");
setImmediate(() => {
  for (let n = 3; n < 5000; n++) logger.info({ n, pad: "x".repeat(n % 300) }, "request");
  process.exit(0);
});`);
  assert.deepEqual(requestNumbers(out), upTo(5000));
});

it("writes every line on flush, and a quiet process's lines within the second without one", async () => {
  const flushed = await childLog(`for (let n = 0; n < 1234; n++) logger.info({ n }, "request");
logging.flush().then(() => process.exit(0));`);
  assert.deepEqual(requestNumbers(flushed), upTo(1234));

  // Two lines, then nothing: they must be on stdout while the process still runs (the parent reads them, then ends it).
  const quiet = await childLog(`logger.info({ n: 0 }, "request");
logger.info({ n: 1 }, "request");
setInterval(() => {}, 1000);
setTimeout(() => process.kill(process.pid, "SIGKILL"), 3000);`);
  assert.deepEqual(requestNumbers(quiet), [0, 1]);
});

it("writes a line logged after flush (a late callback of a server that was closed)", async () => {
  const out = await childLog(`logger.info({ n: 0 }, "request");
logging.flush().then(() => {
  logger.info({ n: 1 }, "request");
  setTimeout(() => process.exit(0), 1500);
});`);
  assert.deepEqual(requestNumbers(out), [0, 1]);
});

it("writes what is gathered at exit synchronously, lines of many-byte characters too", async () => {
  // Fewer than 4,096 characters gathered, more than 4,096 bytes (masked names in Han): no write may be left to a
  // thread at exit. The child counts asynchronous writes started once 'exit' began and reports them on stderr.
  const script = `const fs = require("node:fs");
let exiting = false;
let asyncWritesAtExit = 0;
process.on("exit", () => (exiting = true));
const write = fs.write;
fs.write = function (...args) {
  if (exiting) asyncWritesAtExit++;
  return write.apply(this, args);
};
const { createLogging } = require(${JSON.stringify(LOG_MODULE)});
const { logger } = createLogging("info");
process.on("exit", () => fs.writeSync(2, "async writes at exit: " + asyncWritesAtExit + "\\n"));
for (let n = 0; n < 14; n++) logger.info({ n, name: "欧".repeat(80) }, "request");
process.exit(0);`;
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("error", reject);
    child.once("exit", () => resolve({ stdout: out, stderr: err }));
  });
  assert.deepEqual(requestNumbers(stdout), upTo(14));
  assert.match(stderr, /async writes at exit: 0\n/);
});
