/**
 * What an unauthenticated or slow client can cost the server: metrics series, memory, connections and time.
 * The memory test runs the real `sanyao serve` in its own process, so its peak RSS is the server's alone.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { signTc3 } from "../src/client/signer";
import { verify } from "./helpers/call";
import { serveProcess, type ServeProcess } from "./helpers/cli";
import { rawRequest, startTestServer, tempDir, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const MiB = 1024 * 1024;

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path }, (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve(text));
      })
      .on("error", reject);
  });
}

const seriesCount = (metrics: string) => metrics.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;

/** Headers of a TC3 call that authenticates up to its signature, for a body that is never sent in full. */
function tc3Headers(port: number, key: { secretId: string; secretKey: string }, contentLength: number): Record<string, string> {
  const headers = signTc3({
    ...key,
    service: "faceid",
    host: `127.0.0.1:${port}`,
    action: "PhoneVerification",
    version: "2018-03-01",
    timestamp: Math.floor(Date.now() / 1000),
    body: "{}",
  });
  return { ...headers, "Content-Length": String(contentLength) };
}

/** Sends the request head, then waits for whatever comes back first: an answer, or the connection closing. */
function headThenWait(port: number, headers: Record<string, string>, ms: number): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false });
    }, ms);
    socket.on("data", (c) => (answer += c));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ answer, closed: true });
    });
    socket.write(
      `POST / HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join("\r\n")}\r\n\r\n`,
    );
  });
}

describe("transport limits", () => {
  let server: TestServer;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_HEADERS_TIMEOUT_MS: "1000", SANYAO_MAX_CONNECTIONS: "300" });
    key = await server.addAccount();
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
  });
  after(() => server.close());

  it("20,000 unsigned calls with made-up actions add no metrics series", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const post = (action: string) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port: server.port,
            method: "POST",
            path: "/",
            agent,
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve());
          },
        );
        req.on("error", reject);
        req.end(`Action=${action}&Version=2018-03-01`);
      });
    await post("Zz0");
    assert.ok((await verify(server.port, key, ZHANG)).Result === "0");
    const before = await get(server.port, "/metrics");
    for (let i = 1; i <= 20_000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => post(`Zz${i + j}`)));
    }
    agent.destroy();
    const after = await get(server.port, "/metrics");
    const rss = (process.memoryUsage().rss / 2 ** 20).toFixed(0);
    process.stdout.write(
      `# /metrics ${Buffer.byteLength(after)} bytes, ${seriesCount(after)} series (before: ${seriesCount(before)}); test process RSS ${rss} MiB\n`,
    );
    assert.ok(Buffer.byteLength(after) < 100 * 1024, `/metrics is ${Buffer.byteLength(after)} bytes`);
    assert.equal(seriesCount(after), seriesCount(before));
    assert.doesNotMatch(after, /Zz\d/);
    assert.match(after, /sanyao_requests_total\{action="other",code="MissingParameter"\} 20001/);
    assert.match(after, /sanyao_requests_total\{action="PhoneVerification",code="0"\} 1/);
  });

  it("an unknown key is answered before its body is read", async () => {
    const unknown = { secretId: "AKIDnobodyHasThisKey0000000000000000", secretKey: "x".repeat(32) };
    const { answer, closed } = await headThenWait(server.port, tc3Headers(server.port, unknown, 10 * MiB), 3000);
    assert.match(answer, /AuthFailure\.SecretIdNotFound/);
    assert.ok(closed, "the connection is closed rather than drained");
    const malformed = { ...tc3Headers(server.port, key, 10 * MiB), Authorization: "TC3-HMAC-SHA256 nonsense" };
    assert.match((await headThenWait(server.port, malformed, 3000)).answer, /AuthFailure\.InvalidAuthorization/);
  });

  it("a client that never finishes its headers is cut off by the headers timeout", async () => {
    const socket = net.connect(server.port, "127.0.0.1");
    socket.on("error", () => undefined);
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1"))); // read the 408 and the close
    socket.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    const started = Date.now();
    // node:http's own timer (SANYAO_HEADERS_TIMEOUT_MS=1000 here), not the server's clock: a bounded wait for it
    const closed = await Promise.race([
      new Promise<boolean>((resolve) => socket.on("close", () => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000).unref()),
    ]);
    const took = Date.now() - started;
    socket.destroy();
    assert.ok(closed, "the connection is closed");
    assert.match(answer, /^HTTP\/1\.1 408 /, "by the headers timeout, which answers 408");
    assert.ok(took >= 900, `not before the timeout: closed after ${took} ms`);
  });

  it("connections over the cap are refused; those under it are served", async () => {
    const capped = await startTestServer({ SANYAO_MAX_CONNECTIONS: "3" });
    try {
      const idle = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<net.Socket>((resolve) => {
              const s = net.connect(capped.port, "127.0.0.1", () => resolve(s));
              s.on("error", () => undefined);
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
      await assert.rejects(rawRequest(capped.port, { method: "GET", target: "/?Action=x", headers: { Host: "127.0.0.1" } }));
      idle[0]!.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const served = await rawRequest(capped.port, { method: "GET", target: "/?Action=x", headers: { Host: "127.0.0.1" } });
      assert.equal(served.json.Response.Error?.Code, "MissingParameter");
      for (const s of idle) s.destroy();
    } finally {
      await capped.close();
    }
  });
});

describe("bytes in flight", () => {
  let served: ServeProcess;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    served = await serveProcess(["--data", tempDir()], { SANYAO_MAX_BODY_BYTES_IN_FLIGHT: String(64 * MiB), SANYAO_RATE_LIMIT: "100000" });
    key = { secretId: /SecretId: {2}(\S+)/.exec(served.banner)![1]!, secretKey: /SecretKey: (\S+)/.exec(served.banner)![1]! };
  });
  after(() => served.stop());

  const peakRssMiB = () => {
    const status = fs.readFileSync(`/proc/${served.child.pid}/status`, "utf8");
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
  };

  it("200 slow 10 MiB bodies: memory stays bounded, over the cap is a clean error, others are answered", async () => {
    const baseline = peakRssMiB();
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const outcomes = { busy: 0, other: 0, cut: 0 };
    const slow = () =>
      new Promise<void>((resolve) => {
        const socket = net.connect(served.port, "127.0.0.1");
        let answer = "";
        let sent = 0;
        socket.on("data", (c) => (answer += c));
        socket.on("error", () => undefined);
        socket.on("close", () => {
          clearInterval(timer);
          if (/"Code":"ServiceUnavailable"/.test(answer)) outcomes.busy++;
          else if (answer) outcomes.other++;
          else outcomes.cut++;
          resolve();
        });
        socket.write(
          `POST / HTTP/1.1\r\n${Object.entries(tc3Headers(served.port, key, 10 * MiB))
            .map(([k, v]) => `${k}: ${v}`)
            .join("\r\n")}\r\n\r\n`,
        );
        const timer = setInterval(() => {
          if (socket.destroyed) return clearInterval(timer);
          socket.write(chunk);
          sent += chunk.length;
          if (sent >= 10 * MiB) {
            clearInterval(timer);
            socket.end();
          }
        }, 50);
      });
    const all = Promise.all(Array.from({ length: 200 }, slow));
    await new Promise((r) => setTimeout(r, 300));
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push(String((await verify(served.port, key, ZHANG)).Result));
    await all;
    const peak = peakRssMiB();
    process.stdout.write(`# peak RSS ${baseline.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB after; ${JSON.stringify(outcomes)}\n`);
    assert.deepEqual(answers, ["0", "0", "0", "0", "0"]);
    // Refused with an envelope; a few clients still writing when the server closes lose it to the TCP reset ("cut").
    assert.ok(outcomes.busy >= 100 && outcomes.busy + outcomes.cut >= 150, `most of them are refused: ${JSON.stringify(outcomes)}`);
    assert.ok(peak - baseline < 200, `peak RSS grew by ${(peak - baseline).toFixed(0)} MiB`);
  });
});
