/**
 * What a refused signature costs the server: a flood of refused calls with large bodies keeps its memory bounded and
 * leaves valid calls answered, a body past the size a diagnosis signs again is noted rather than hashed, and past a
 * rate refused calls are noted, not diagnosed. A diagnosis shows no session Token. The flood runs against the real
 * `sanyao serve` in its own process, so the resident memory measured is the server's alone.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { signTc3 } from "../src/client/signer";
import { canonicalRequest, sha256Hex, signingKey, stringToSign, tc3Signature, utcDate } from "../src/api3/tc3";
import { callTc3, verify } from "./helpers/call";
import { sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { faceidSdk } from "./helpers/sdk";
import { type RawResponse, rawRequest, startTestServer, tempDir, type TestServer } from "./helpers/server";

const TOKEN = "test-operator-token-0123456789";
const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const KiB = 1024;
const MiB = 1024 * KiB;

/** The server's resident and peak resident memory in MiB, from /proc. */
function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kB("VmRSS") / 1024, peak: kB("VmHWM") / 1024 };
}

/** user + system CPU seconds of the process */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A TC3 call that passes every check before the signature, with a signature no key makes: refused after its body is read. */
function refusedTc3(port: number, secretId: string, body: Buffer) {
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
function refusedV1(port: number, secretId: string, filler: string) {
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
function jsonBody(bytes: number): Buffer {
  const [head, tail] = ['{ "Mobile": "13800001234", "Filler": "', '" }'];
  return Buffer.from(`${head}${"x".repeat(bytes - head.length - tail.length)}${tail}`);
}

/** Form parameters of about `bytes`, with long names (a v1 string to sign carries every name as sent). */
function formFiller(bytes: number): string {
  const name = "N".repeat(1000);
  const count = Math.floor(bytes / 1010);
  return Array.from({ length: count }, (_, i) => `${String(i).padStart(5, "0")}${name}=1`).join("&");
}

describe("a flood of refused signatures", () => {
  const data = tempDir();
  let served: ServeProcess;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    served = await serveProcess(["--data", data], { SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_RATE_LIMIT: "1000000", SANYAO_DAILY_CAP: "0" });
    const cli = async (...args: string[]) => JSON.parse((await sanyao([...args, "--data", data, "--json"])).stdout);
    const account = await cli("accounts", "create", "--name", "flood");
    key = await cli("keys", "create", "--account", account.accountId);
    await cli("accounts", "set", account.accountId, "--daily-cap", "0");
    const records = path.join(data, "zhang.csv");
    fs.writeFileSync(records, `phone,name,idcard\n${ZHANG.Phone},${ZHANG.Name},${ZHANG.IdCard}\n`);
    const imported = await sanyao(["records", "import", records, "--data", data]);
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(() => served.stop());

  const LIMIT_MiB = 64;

  /**
   * Sends `total` refused calls, `concurrency` at a time, and measures the server's resident memory against what it was after 100
   * of them (a warm-up: the heap settles into its working size). It stops early once the bound is broken: a server
   * without it would take this machine's memory and minutes of CPU.
   */
  async function flood(total: number, concurrency: number, refuse: (i: number) => Promise<RawResponse>) {
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
          if (highest - before.rss >= LIMIT_MiB) grewPast = `after ${sent} calls`;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, sender));
    const after = memoryMiB(pid);
    // A peak higher than any before was reached during the flood; otherwise the highest resident size sampled is its peak.
    const growth = (after.peak > before.peak ? after.peak : Math.max(highest, after.rss)) - before.rss;
    return { sent, codes: Object.fromEntries(codes), baseline: before.rss, growth, grewPast, cpu: cpuSeconds(pid) - cpuBefore };
  }

  it("5,000 refused calls with 1 MiB bodies grow the server's memory by < 64 MiB; valid calls in parallel answer 0", async () => {
    const tc3Body = jsonBody(MiB);
    const v1Filler = formFiller(MiB);
    // One call in ten is v1: parsing a 1 MiB form costs the server tens of milliseconds before any diagnosis.
    const refuse = (i: number) =>
      i % 10 === 9 ? refusedV1(served.port, key.secretId, v1Filler) : refusedTc3(served.port, key.secretId, tc3Body);
    assert.equal(String((await verify(served.port, key, ZHANG)).Result), "0");

    let flooding = true;
    const valid: Array<{ result: string; ms: number }> = [];
    const validCalls = async () => {
      while (flooding) {
        const start = performance.now();
        const answer = await verify(served.port, key, ZHANG);
        valid.push({ result: String(answer.Result ?? answer.Error?.Code), ms: performance.now() - start });
      }
    };
    const validDone = validCalls();
    const f = await flood(5000, 8, refuse);
    flooding = false;
    await validDone;

    const ms = valid.map((v) => v.ms).sort((a, b) => a - b);
    process.stdout.write(
      `# ${f.sent} refused calls with 1 MiB bodies (${JSON.stringify(f.codes)}): server RSS ${f.baseline.toFixed(0)} MiB before, ` +
        `+${f.growth.toFixed(0)} MiB at its peak, ${f.cpu.toFixed(1)} s of CPU; ` +
        `${valid.length} valid calls in parallel, p50 ${ms[Math.floor(ms.length / 2)]?.toFixed(0)} ms, max ${ms.at(-1)?.toFixed(0)} ms\n`,
    );
    assert.equal(f.grewPast, undefined, `resident memory grew by ${LIMIT_MiB} MiB ${f.grewPast}`);
    assert.ok(f.growth < LIMIT_MiB, `peak memory grew by ${f.growth.toFixed(0)} MiB`);
    assert.deepEqual(f.codes, { "AuthFailure.SignatureFailure": 5000 });
    assert.ok(valid.length > 0);
    assert.deepEqual(
      valid.filter((v) => v.result !== "0"),
      [],
    );
  });

  it("300 v1 calls with 1 MiB forms and unknown SecretIds grow the server's memory by < 64 MiB", async () => {
    // Each SecretId is new: the key cache keeps every one it looks up, and must keep nothing else of the call.
    // Two at a time, so that what the calls in flight take is far from the bound.
    const filler = formFiller(MiB - 1024);
    const f = await flood(300, 2, (i) => refusedV1(served.port, `AKIDunknown${String(i).padStart(8, "0")}`, filler));
    process.stdout.write(
      `# ${f.sent} v1 calls with unknown SecretIds (${JSON.stringify(f.codes)}): server RSS ${f.baseline.toFixed(0)} MiB before, ` +
        `+${f.growth.toFixed(0)} MiB at its peak, ${f.cpu.toFixed(1)} s of CPU\n`,
    );
    assert.equal(f.grewPast, undefined, `resident memory grew by ${LIMIT_MiB} MiB ${f.grewPast}`);
    assert.ok(f.growth < LIMIT_MiB, `peak memory grew by ${f.growth.toFixed(0)} MiB`);
    assert.deepEqual(f.codes, { "AuthFailure.SecretIdNotFound": 300 });
  });
});

describe("what a diagnosis shows and costs", () => {
  let server: TestServer;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN });
    key = await server.addAccount("bounds");
  });
  after(() => server.close());

  const explain = async (requestId: string) => {
    const res = await fetch(`${server.url}/_sanyao/explain/${requestId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.doesNotMatch(text, new RegExp(key.secretKey), "never the secret key");
    return {
      text,
      diagnosis: (JSON.parse(text) as { diagnosis: { likelyCauses: string[]; canonicalRequest?: string; stringToSign?: string } })
        .diagnosis,
    };
  };

  /** A TC3 call with a JSON body of `bytes`, signed with the SecretKey plus a trailing space. */
  async function trailingSpace(bytes: number): Promise<string> {
    const body = jsonBody(bytes).toString();
    const headers = signTc3({
      secretId: key.secretId,
      secretKey: `${key.secretKey} `,
      service: "faceid",
      host: `127.0.0.1:${server.port}`,
      action: "PhoneVerification",
      version: "2018-03-01",
      timestamp: Math.floor(Date.now() / 1000),
      body,
    });
    const res = await rawRequest(server.port, { method: "POST", target: "/", headers, body });
    assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
    return res.json.Response.RequestId;
  }

  it("a body up to 64 KiB is signed again with each usual mistake; past it, the diagnosis says so and tries none", async () => {
    const within = await explain(await trailingSpace(64 * KiB));
    assert.match(within.diagnosis.likelyCauses[0] ?? "", /SecretKey plus a trailing space/);
    const past = await explain(await trailingSpace(64 * KiB + 1));
    assert.match(past.diagnosis.likelyCauses.join(" "), /The body is 65537 bytes, more than the 65536 bytes a diagnosis signs again/);
    assert.doesNotMatch(past.text, /trailing space/);
  });

  it("a v1 call whose parameters pass 64 KiB: noted, not signed again", async () => {
    const res = await refusedV1(server.port, key.secretId, formFiller(100 * KiB));
    assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
    const { diagnosis } = await explain(res.json.Response.RequestId);
    assert.match(
      diagnosis.likelyCauses.join(" "),
      /The parameters are \d+ characters long, more than the 65536 characters a diagnosis signs again/,
    );
    assert.equal(diagnosis.stringToSign, undefined);
  });

  it("a v1 diagnosis masks the session Token like any value", async () => {
    const token = "sts-session-token-4f1c9a7e2b";
    const credential = { secretId: key.secretId, secretKey: "not-the-key", token };
    const sdk = faceidSdk(server.port, credential, { profile: { signMethod: "HmacSHA256" } });
    const requestId = await sdk.PhoneVerification(ZHANG).then(
      () => assert.fail("the call was accepted"),
      (err: { code?: string; requestId?: string }) => {
        assert.equal(err.code, "AuthFailure.SignatureFailure");
        return err.requestId ?? "";
      },
    );
    const { text, diagnosis } = await explain(requestId);
    assert.match(diagnosis.stringToSign ?? "", /&Token=<[0-9a-f]{16}>&/);
    assert.ok(!text.includes(token), `the diagnosis shows the Token: ${diagnosis.stringToSign}`);
  });

  it("a TC3 diagnosis masks X-TC-Token when the call signs it", async () => {
    const token = "sts-session-token-9d3e5b1c7a";
    const body = JSON.stringify({ Mobile: ZHANG.Phone });
    const ts = Math.floor(Date.now() / 1000);
    const date = utcDate(ts);
    const signed: Array<readonly [string, string]> = [
      ["content-type", "application/json"],
      ["host", "127.0.0.1"],
      ["x-tc-token", token],
    ];
    const canonical = canonicalRequest({ method: "POST", path: "/", query: "", headers: signed, hashedPayload: sha256Hex(body) });
    const scope = `${date}/faceid/tc3_request`;
    const signature = tc3Signature(signingKey("not-the-key", date, "faceid"), stringToSign(String(ts), scope, canonical));
    const res = await rawRequest(server.port, {
      method: "POST",
      target: "/",
      headers: {
        host: `127.0.0.1:${server.port}`,
        "content-type": "application/json",
        "x-tc-token": token,
        "x-tc-action": "MobileStatus",
        "x-tc-version": "2018-03-01",
        "x-tc-timestamp": String(ts),
        authorization: `TC3-HMAC-SHA256 Credential=${key.secretId}/${scope}, SignedHeaders=content-type;host;x-tc-token, Signature=${signature}`,
      },
      body,
    });
    assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
    const { text, diagnosis } = await explain(res.json.Response.RequestId);
    assert.match(diagnosis.canonicalRequest ?? "", /\nx-tc-token:<[0-9a-f]{16}>\n/);
    assert.ok(!text.includes(token), `the diagnosis shows the token: ${diagnosis.canonicalRequest}`);
  });
});

describe("how many refused calls are diagnosed", () => {
  let server: TestServer;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN });
    key = await server.addAccount("rate");
  });
  after(() => server.close());

  it("a burst of 20 is diagnosed; past 10 a second, a refused call is noted as not diagnosed", async () => {
    // 100 calls at once: however slowly this machine sends them, they arrive well within the 8 s it takes to refill 80.
    const wrongKey = { secretId: key.secretId, secretKey: `${key.secretKey} ` };
    const refused = await Promise.all(Array.from({ length: 100 }, () => callTc3(server.port, wrongKey, ZHANG)));
    const causes = await Promise.all(
      refused.map(async (res) => {
        assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
        const answer = await fetch(`${server.url}/_sanyao/explain/${res.json.Response.RequestId}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        return ((await answer.json()) as { diagnosis: { likelyCauses: string[] } }).diagnosis.likelyCauses[0] ?? "";
      }),
    );
    const diagnosed = causes.filter((c) => /SecretKey plus a trailing space/.test(c)).length;
    const noted = causes.filter((c) => /^Not diagnosed: more than 10 calls a second \(a burst of 20\) were refused/.test(c)).length;
    process.stdout.write(`# of 100 refused calls at once: ${diagnosed} diagnosed, ${noted} noted\n`);
    assert.equal(diagnosed + noted, 100);
    assert.ok(diagnosed >= 20, `${diagnosed} diagnosed`);
    assert.ok(noted >= 1, `${noted} noted`);
  });
});
