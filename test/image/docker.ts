/**
 * The Docker client for the image tests: builds with BuildKit, runs containers on the host's network only (these
 * machines have no bridge network; every port is the host's), and removes what a run made.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { repoRoot } from "../helpers/paths";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never rejects (the caller asserts on the code). */
export function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The Docker client: $DOCKER, else `docker` when it can build with BuildKit (its buildx plugin), else Debian's
 * /usr/bin/docker, whose client has BuildKit built in (the shared engine script installs it).
 */
let client: Promise<string> | undefined;
function dockerClient(): Promise<string> {
  client ??= (async () => {
    if (process.env.DOCKER) return process.env.DOCKER;
    if ((await run("docker", ["buildx", "version"])).code === 0 || !fs.existsSync("/usr/bin/docker")) return "docker";
    return "/usr/bin/docker";
  })();
  return client;
}

export const docker = async (...args: string[]) => run(await dockerClient(), args, { DOCKER_BUILDKIT: "1" });

/** Runs docker and returns its stdout, or throws with its stderr. */
export async function dockerOk(...args: string[]): Promise<string> {
  const res = await docker(...args);
  if (res.code !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed (${res.code}): ${res.stderr || res.stdout}`);
  return res.stdout;
}

/**
 * The npm configuration passed to the build as a secret: SANYAO_IMAGE_NPMRC, else the one the shared engine
 * script writes for these machines (their registry's certificate authorities), else none.
 */
export async function npmrcForBuild(): Promise<string | undefined> {
  if (process.env.SANYAO_IMAGE_NPMRC) return process.env.SANYAO_IMAGE_NPMRC;
  const tool = [path.join(repoRoot, "..", "shared", "tools", "docker-engine.sh"), "/work/shared/tools/docker-engine.sh"].find((f) =>
    fs.existsSync(f),
  );
  if (!tool) return undefined;
  const res = await run("bash", [tool, "npmrc"]);
  return res.code === 0 ? res.stdout.trim() : undefined;
}

export async function buildImage(tag: string): Promise<{ ms: number; log: string }> {
  const npmrc = await npmrcForBuild();
  const started = Date.now();
  const res = await docker("build", "--network", "host", ...(npmrc ? ["--secret", `id=npmrc,src=${npmrc}`] : []), "-t", tag, ".");
  if (res.code !== 0) throw new Error(`docker build failed (${res.code}):\n${res.stderr.slice(-6000)}`);
  return { ms: Date.now() - started, log: res.stderr };
}

/** A port free on this machine now (containers share the host's network). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function healthOf(container: string): Promise<string> {
  return (await dockerOk("inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", container)).trim();
}

/** Polls the container's health check until it reports healthy; the time since `since` (ms). */
export async function untilHealthy(container: string, since: number, limitMs = 120_000): Promise<number> {
  for (;;) {
    const status = await healthOf(container);
    if (status === "healthy") return Date.now() - since;
    if (status === "unhealthy" || Date.now() - since > limitMs) {
      const logs = await docker("logs", "--tail", "40", container);
      throw new Error(`${container} is ${status} after ${Date.now() - since} ms:\n${logs.stdout}${logs.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `sanyao ARGS --json` inside a running container, parsed. */
export async function cliIn(container: string, ...args: string[]): Promise<unknown> {
  return JSON.parse(await dockerOk("exec", container, "sanyao", ...args, "--json"));
}

/** Containers and volumes a test made, removed at its end whether it passed or not. */
export class Made {
  private readonly containers = new Set<string>();
  private readonly volumes = new Set<string>();

  container(name: string): string {
    this.containers.add(name);
    return name;
  }

  volume(name: string): string {
    this.volumes.add(name);
    return name;
  }

  async removeAll(): Promise<void> {
    for (const c of this.containers) await docker("rm", "-f", "-v", c);
    for (const v of this.volumes) await docker("volume", "rm", "-f", v);
    this.containers.clear();
    this.volumes.clear();
  }
}
