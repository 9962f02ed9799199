/**
 * Refused calls for the tests of what they cost the server: signed well enough to be refused only at the signature,
 * after their body is read, and sent by the thousand against a `sanyao serve` whose memory /proc shows.
 */
import fs from "node:fs";
import { utcDate } from "../../src/api3/tc3";
import type { ServeProcess } from "./cli";
import { type RawResponse, rawRequest } from "./server";

/** The server's resident and peak resident memory in MiB, from /proc. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kB("VmRSS") / 1024, peak: kB("VmHWM") / 1024 };
}

/** user + system CPU seconds of the process */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A TC3 call that passes every check before the signature, with a signature no key makes: refused after its body is read. */
export function refusedTc3(port: number, secretId: string, body: Buffer) {
  const ts = Math.floor(Date.now() / 1000);
  return rawRequest(port, {
    method: "POST",
    target: "/",
    headers: {
      host: `127.0.0.1:${port}`,
      "content-type": "application/json",
      "x-tc-action": "PhoneVerification",
      "x-tc-version": "2018-03-01",
      "x-tc-timestamp": String(ts),
      "x-tc-region": "ap-guangzhou",
      authorization: `TC3-HMAC-SHA256 Credential=${secretId}/${utcDate(ts)}/faceid/tc3_request, SignedHeaders=content-type;host, Signature=${"0".repeat(64)}`,
    },
    body,
  });
}

/** The same as a v1 form POST: common parameters, then `filler` (more parameters), with a wrong signature. */
export function refusedV1(port: number, secretId: string, filler: string) {
  const common = new URLSearchParams({
    Action: "PhoneVerification",
    Version: "2018-03-01",
    Timestamp: String(Math.floor(Date.now() / 1000)),
    Nonce: "1",
    SecretId: secretId,
    SignatureMethod: "HmacSHA256",
    Signature: Buffer.alloc(32).toString("base64"),
  });
  return rawRequest(port, {
    method: "POST",
    target: "/",
    headers: { host: `127.0.0.1:${port}`, "content-type": "application/x-www-form-urlencoded" },
    body: `${common}&${filler}`,
  });
}

/** A JSON body of about `bytes`, not written compactly (so a diagnosis would try it re-serialised). */
export function jsonBody(bytes: number): Buffer {
  const [head, tail] = ['{ "Mobile": "13800001234", "Filler": "', '" }'];
  return Buffer.from(`${head}${"x".repeat(bytes - head.length - tail.length)}${tail}`);
}

/** Form parameters of about `bytes`, with long names (a v1 string to sign carries every name as sent). */
export function formFiller(bytes: number): string {
  const name = "N".repeat(1000);
  const count = Math.floor(bytes / 1010);
  return Array.from({ length: count }, (_, i) => `${String(i).padStart(5, "0")}${name}=1`).join("&");
}

/**
 * Sends `total` refused calls, `concurrency` at a time, and measures the server's resident memory against what it
 * was after 100 of them (a warm-up: the heap settles into its working size). It stops early once the memory grew
 * by `limitMiB`: a server without its bounds would take this machine's memory and minutes of CPU.
 */
export async function flood(
  served: ServeProcess,
  o: { total: number; concurrency: number; limitMiB: number },
  refuse: (i: number) => Promise<RawResponse>,
) {
  const { total, concurrency, limitMiB } = o;
  const pid = served.child.pid ?? 0;
  for (let i = 0; i < 100; i++) await refuse(total + i);
  const before = memoryMiB(pid);
  const cpuBefore = cpuSeconds(pid);
  let next = 0;
  let sent = 0;
  let highest = before.rss;
  let grewPast: string | undefined;
  const codes = new Map<string, number>();
  const sender = async () => {
    while (next < total && grewPast === undefined) {
      const code = (await refuse(next++)).json.Response.Error?.Code ?? "none";
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (++sent % 50 === 0) {
        highest = Math.max(highest, memoryMiB(pid).rss);
        if (highest - before.rss >= limitMiB) grewPast = `after ${sent} calls`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const after = memoryMiB(pid);
  // A peak higher than any before was reached during the flood; otherwise the highest resident size sampled is its peak.
  const growth = (after.peak > before.peak ? after.peak : Math.max(highest, after.rss)) - before.rss;
  return { sent, codes: Object.fromEntries(codes), baseline: before.rss, growth, grewPast, cpu: cpuSeconds(pid) - cpuBefore };
}
