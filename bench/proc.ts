/** Child processes for the benchmark, and what /proc says about them (CPU time, peak RSS). */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface Started {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Spawns `args` and waits until `portPattern` matches its output. */
export function startProcess(args: string[], portPattern: RegExp, env: Record<string, string> = {}, logFile?: string): Promise<Started> {
  const out = logFile ? fs.openSync(logFile, "a") : "ignore";
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", out === "ignore" ? "pipe" : out, "pipe"],
  });
  let seen = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${seen}`)), 60_000);
    const watch = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = portPattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve({
          child,
          port: Number(m[1]),
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout?.on("data", watch);
    child.stderr!.on("data", watch);
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${seen}`)));
  });
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The process and its children (cluster workers). */
export function processTree(pid: number): number[] {
  return [pid, ...childrenOf(pid).flatMap(processTree)];
}

/** user + system CPU seconds of the process tree */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / CLOCK_TICKS;
}

/** peak resident set size in MiB, summed over the processes */
export function peakRssMiB(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}

/** CPU seconds of one process's threads: its main thread (whose id is the pid) and all the others together. */
export function threadCpuSeconds(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      if (Number(tid) === pid) main += seconds;
      else others += seconds;
    } catch {
      // the thread ended
    }
  }
  return { main, others };
}
