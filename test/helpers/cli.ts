/** Runs the real `sanyao` command (bin/sanyao.js) as a child process. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { repoRoot } from "./paths";

export const BIN = path.join(repoRoot, "bin", "sanyao.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function sanyao(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, cwd: repoRoot }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  port: number;
  banner: string;
  stdout: () => string;
  stop(): Promise<void>;
}

/** Starts `sanyao serve --port 0` and waits for the banner that names the endpoint. */
export function serveProcess(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], {
    env: { ...process.env, ...env },
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stdout!.on("data", (c) => (stdout += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 15_000);
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    child.stderr!.on("data", (c) => {
      stderr += c;
      // the banner names the listener (127.0.0.1 by default, 0.0.0.0 with --host 0.0.0.0): the port is what is used
      const m = /at http:\/\/(?:127\.0\.0\.1|0\.0\.0\.0):(\d+)\//.exec(stderr);
      if (m && (stderr.includes("then(console.log)") || stderr.includes("Probes:"))) {
        clearTimeout(timer);
        resolve({
          child,
          url: `http://127.0.0.1:${m[1]}`,
          port: Number(m[1]),
          banner: stderr,
          stdout: () => stdout,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.removeAllListeners("exit");
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    });
  });
}

/** Polls `probe` until it returns true or `ms` pass; resolves with the time it took. */
export async function within(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
