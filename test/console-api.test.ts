/**
 * The server side of the web console on both backends, through real HTTP: sign-in sessions (cookie attributes,
 * expiry on the server's clock, sign-out revokes, the same answer for every wrong token, the sign-in budget), the
 * CSRF and Origin checks, the read-only role over a session, the console's files and their headers, the overview's
 * numbers against the calls made, the request log's after= and filters and its page per RequestId, ledger and usage
 * CSV, the records import job, and no personal value in any answer.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";
import { faceidSdk } from "./helpers/sdk";
import http from "node:http";
import {
  describeBackends,
  SHARED_INSTALLATION,
  serversOnOneInstallation,
  startTestServer,
  tempDir,
  type TestServer,
} from "./helpers/server";

const TOKEN = "console-api-operator-token-00";
const READ_TOKEN = "console-api-read-only-token-0";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const RAW_VALUES = ["13800001234", "张三", "110105199003072143", "13900005678", "李四", "32010219881115306X"];

type Json = Record<string, unknown>;

/** A GET whose body is kept as bytes (a gzip answer is not decoded). */
function getBytes(port: number, target: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: target, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on("error", reject);
  });
}

/** A console build as small as can be: what `npm run build:console` makes, in shape. */
function fakeConsole(): string {
  const dir = tempDir("sanyao-console-");
  fs.mkdirSync(path.join(dir, "assets"));
  fs.writeFileSync(
    path.join(dir, "index.html"),
    `<!doctype html><html><head><script type="module" src="./assets/app-1a2b3c.js"></script></head><body>${"<!-- padding -->".repeat(40)}</body></html>`,
  );
  fs.writeFileSync(path.join(dir, "assets", "app-1a2b3c.js"), `console.log(${JSON.stringify("x".repeat(2000))});\n`);
  return dir;
}

describeBackends("console API", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  /** every answer of this suite, scanned for personal values at the end */
  const answers: string[] = [];

  const send = async (method: string, route: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${server.opsUrl}${route}`, { method, headers: init.headers, body: init.body });
    const text = await res.text();
    answers.push(text);
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Json };
  };
  const signIn = async (token: string, headers: Record<string, string> = {}) => {
    const res = await send("POST", "/_sanyao/session", {
      body: JSON.stringify({ token }),
      headers: { "content-type": "application/json", ...headers },
    });
    const cookie = /^sanyao_session=([^;]*)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
    return { ...res, cookie };
  };
  const withCookie = (cookie: string | undefined, more: Record<string, string> = {}) => ({ cookie: `sanyao_session=${cookie}`, ...more });

  const consoleDir = fakeConsole();
  before(async () => {
    server = await startTestServer(
      { SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_READ_ONLY_TOKEN: READ_TOKEN, SANYAO_CONSOLE_DIR: consoleDir },
      backend,
    );
    key = await server.addAccount("console");
    await server.addRecords(demoRecords(chinaDate(Date.now())));
  });
  after(() => server?.close());

  it("signs in with a token for a cookie: HttpOnly, SameSite=Strict, Path=/_sanyao, expiring; Secure behind TLS; digest stored", async () => {
    const res = await signIn(TOKEN);
    assert.equal(res.status, 201, res.text);
    const setCookie = res.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /^sanyao_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/_sanyao; Max-Age=43200$/);
    const session = res.json();
    assert.equal(session.role, "operator");
    assert.match(String(session.csrf), /^[A-Za-z0-9_-]{43}$/);
    assert.ok(Date.parse(String(session.expiresAt)) > Date.now());
    const again = await send("GET", "/_sanyao/session", { headers: withCookie(res.cookie) });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json().csrf, session.csrf);
    const tls = await signIn(READ_TOKEN, { "x-forwarded-proto": "https" });
    assert.equal(tls.status, 201);
    assert.match(tls.headers.get("set-cookie") ?? "", /; Secure$/);
    assert.equal(tls.json().role, "read-only");
    const stored = await storedSessions();
    assert.ok(!stored.includes(String(res.cookie)), "the cookie itself is not stored");
    assert.ok(!stored.includes(String(session.csrf)), "nor its CSRF token");
  });

  /** The sessions table as text (its digests as hex and base64 too). */
  async function storedSessions(): Promise<string> {
    // No listing on the port: the whole table is read the way the engine holds it.
    if (backend === "sqlite") {
      const Database = (await import("better-sqlite3")).default;
      const db = new Database(path.join(server.dataDir, "sanyao.db"), { readonly: true });
      const rows = db.prepare("SELECT * FROM console_sessions").all() as Array<{ digest: Buffer; role: string }>;
      db.close();
      assert.ok(rows.length > 0);
      return rows.map((r) => `${r.digest.toString("hex")} ${r.digest.toString("base64url")} ${r.role}`).join("\n");
    }
    return (await server.storedData()).toString();
  }

  it("answers every wrong token the same, refuses another origin, and counts sign-ins per address (429)", async () => {
    server.setNow(Date.now() + 120_000); // a fresh minute for the budget
    const a = await signIn(`${TOKEN}x`);
    const b = await signIn("syr_a-guess");
    assert.equal(a.status, 401);
    assert.equal(a.text, b.text);
    const foreign = await signIn(TOKEN, { origin: "https://evil.example" });
    assert.equal(foreign.status, 403);
    for (let i = 0; i < 8; i++) assert.equal((await signIn(`wrong-${i}`)).status, 401);
    const over = await signIn(TOKEN);
    assert.equal(over.status, 429, over.text);
    assert.ok(Number(over.headers.get("retry-after")) > 0);
    server.setNow(Date.now() + 240_000);
    assert.equal((await signIn(TOKEN)).status, 201, "a new minute, a new budget");
    server.setNow(undefined);
  });

  it("a session's change wants its CSRF header and this origin; read-only changes nothing; sign-out and expiry end it", async () => {
    server.setNow(Date.now() + 360_000);
    const { cookie, json } = await signIn(TOKEN);
    const csrf = String(json().csrf);
    const create = (headers: Record<string, string>) =>
      send("POST", "/_sanyao/accounts", {
        body: JSON.stringify({ name: "by session" }),
        headers: { "content-type": "application/json", ...headers },
      });
    assert.equal((await send("GET", "/_sanyao/accounts?limit=1", { headers: withCookie(cookie) })).status, 200);
    const noCsrf = await create(withCookie(cookie));
    assert.equal(noCsrf.status, 403);
    assert.match(String(noCsrf.json().error), /X-Sanyao-CSRF/);
    assert.equal((await create(withCookie(cookie, { "x-sanyao-csrf": `${csrf}x` }))).status, 403);
    const opsHost = new URL(server.opsUrl).host;
    assert.equal((await create(withCookie(cookie, { "x-sanyao-csrf": csrf, origin: "https://evil.example" }))).status, 403);
    assert.equal((await send("GET", "/_sanyao/accounts", { headers: withCookie(cookie, { origin: "http://evil.example" }) })).status, 403);
    const forwarded = { "x-sanyao-csrf": csrf, origin: "https://evil.example", "x-forwarded-host": "evil.example" };
    assert.equal((await create(withCookie(cookie, forwarded))).status, 403, "X-Forwarded-Host is not this server's host");
    assert.equal((await create(withCookie(cookie, { "x-sanyao-csrf": csrf, origin: `http://${opsHost}` }))).status, 201);

    const reader = await signIn(READ_TOKEN);
    const readerCsrf = String(reader.json().csrf);
    assert.equal((await send("GET", "/_sanyao/accounts?limit=1", { headers: withCookie(reader.cookie) })).status, 200);
    assert.equal((await create(withCookie(reader.cookie, { "x-sanyao-csrf": readerCsrf }))).status, 403, "read-only over a session");

    const out = await send("DELETE", "/_sanyao/session", { headers: withCookie(cookie, { "x-sanyao-csrf": csrf }) });
    assert.equal(out.status, 200);
    assert.match(out.headers.get("set-cookie") ?? "", /^sanyao_session=; .*Max-Age=0/);
    assert.equal((await send("GET", "/_sanyao/session", { headers: withCookie(cookie) })).status, 401, "revoked");
    assert.equal((await send("GET", "/_sanyao/accounts", { headers: withCookie(cookie) })).status, 401);

    // idle past an hour: ended; within it, alive
    const now = Date.now() + 360_000;
    server.setNow(now + 59 * 60_000);
    assert.equal((await send("GET", "/_sanyao/session", { headers: withCookie(reader.cookie) })).status, 200);
    server.setNow(now + 59 * 60_000 + 61 * 60_000);
    assert.equal((await send("GET", "/_sanyao/session", { headers: withCookie(reader.cookie) })).status, 401, "idle too long");
    // used every 50 minutes, it still ends 12 hours after sign-in
    const start = now + 180 * 60_000;
    server.setNow(start);
    const busy = await signIn(READ_TOKEN);
    for (let minutes = 50; minutes < 12 * 60; minutes += 50) {
      server.setNow(start + minutes * 60_000);
      assert.equal((await send("GET", "/_sanyao/session", { headers: withCookie(busy.cookie) })).status, 200, `${minutes} min`);
    }
    server.setNow(start + 12 * 60 * 60_000 + 1000);
    assert.equal((await send("GET", "/_sanyao/session", { headers: withCookie(busy.cookie) })).status, 401, "12 hours after sign-in");
    server.setNow(undefined);
  });

  it("an anonymous route does not look a cookie up: probes sent with a session's cookie do not keep it alive", async () => {
    const start = Date.now() + 24 * 60 * 60_000;
    server.setNow(start);
    const { cookie } = await signIn(READ_TOKEN);
    server.setNow(start + 50 * 60_000);
    for (const probe of ["/healthz", "/readyz", "/metrics", "/_sanyao/openapi.json"]) {
      assert.equal((await send("GET", probe, { headers: withCookie(cookie) })).status, 200, probe);
    }
    server.setNow(start + 70 * 60_000);
    assert.equal((await send("GET", "/_sanyao/session", { headers: withCookie(cookie) })).status, 401, "idle since sign-in");
    server.setNow(undefined);
  });

  it("a session ends with its token: signed in with one operator token, the server restarted with another, the cookie is 401", async () => {
    const A = "console-api-rotated-token-aaa";
    const B = "console-api-rotated-token-bbb";
    const first = await startTestServer({ SANYAO_ADMIN_TOKEN: A }, backend);
    let second: TestServer | undefined;
    try {
      const res = await fetch(`${first.opsUrl}/_sanyao/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: A }),
      });
      assert.equal(res.status, 201);
      const cookie = /^sanyao_session=([^;]*)/.exec(res.headers.get("set-cookie") ?? "")?.[1];
      const csrf = String(((await res.json()) as Json).csrf);
      const create = (url: string) =>
        fetch(`${url}/_sanyao/accounts`, {
          method: "POST",
          headers: { "content-type": "application/json", cookie: `sanyao_session=${cookie}`, "x-sanyao-csrf": csrf },
          body: JSON.stringify({ name: "by an old session" }),
        });
      assert.equal((await create(first.opsUrl)).status, 201, "the session works while its token is in force");
      // an embedded installation restarts on its directory; a scale-out one gets an instance with the new token
      const shared = Object.fromEntries(SHARED_INSTALLATION.flatMap((n) => (first.env[n] === undefined ? [] : [[n, first.env[n]]])));
      if (backend === "sqlite") await first.close();
      second = await startTestServer({ ...shared, SANYAO_ADMIN_TOKEN: B }, backend, first.dataDir);
      const session = await fetch(`${second.opsUrl}/_sanyao/session`, { headers: { cookie: `sanyao_session=${cookie}` } });
      assert.equal(session.status, 401, "the session of a rotated token");
      assert.equal((await create(second.opsUrl)).status, 401, "nor does it change anything");
    } finally {
      await second?.close();
      if (backend !== "sqlite") await first.close();
    }
  });

  it("serves the console's files with a strict CSP, nosniff, no referrer; index.html for the console's own URLs; gzip", async () => {
    const climbing = await getBytes(server.opsPort, "/_sanyao/console/..%2f..%2f..%2fetc%2fpasswd", {});
    assert.match(climbing.body.toString(), /^<!doctype html>/, "a path that climbs out names nothing: index.html");
    for (const route of ["/_sanyao/console/", "/_sanyao/console/requests/abc-123"]) {
      const res = await send("GET", route);
      assert.equal(res.status, 200, route);
      assert.match(res.text, /^<!doctype html>/, route);
      assert.equal(res.headers.get("cache-control"), "no-cache");
      assert.equal(
        res.headers.get("content-security-policy"),
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      );
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    }
    const js = await getBytes(server.opsPort, "/_sanyao/console/assets/app-1a2b3c.js", { "accept-encoding": "gzip" });
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-encoding"], "gzip");
    assert.equal(js.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.match(String(js.headers["content-type"]), /^text\/javascript/);
    assert.match(gunzipSync(js.body).toString(), /^console\.log/);
    assert.equal((await send("POST", "/_sanyao/console/")).status, 405);
  });

  it("the console's files: no symlink out of its directory, 404 for a missing asset, no install path shown, none with the API off", async () => {
    const outside = path.join(tempDir("sanyao-outside-"), "secret.txt");
    fs.writeFileSync(outside, "a file outside the console's directory");
    fs.symlinkSync(outside, path.join(consoleDir, "assets", "linked-9f9f9f.js"));
    fs.symlinkSync(outside, path.join(consoleDir, "linked.txt"));
    const linked = await send("GET", "/_sanyao/console/assets/linked-9f9f9f.js");
    assert.equal(linked.status, 404, "a symlink out of the directory is no file of the console");
    assert.ok(!linked.text.includes("outside"));
    const linkedTop = await send("GET", "/_sanyao/console/linked.txt");
    assert.ok(!linkedTop.text.includes("outside"), linkedTop.text);
    const missing = await send("GET", "/_sanyao/console/assets/app-000000.js");
    assert.equal(missing.status, 404, "a missing asset is not index.html");
    assert.doesNotMatch(missing.text, /<!doctype html>/);

    const empty = tempDir("sanyao-unbuilt-");
    const unbuilt = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_CONSOLE_DIR: empty }, backend);
    try {
      const res = await fetch(`${unbuilt.opsUrl}/_sanyao/console/`);
      const text = await res.text();
      assert.equal(res.status, 404);
      assert.match(text, /npm run build:console/);
      assert.ok(!text.includes(empty), `the install path is shown: ${text}`);
    } finally {
      await unbuilt.close();
    }

    // no token at all: every /_sanyao/ path answers 404, the console's files too
    let off = await startTestServer({ SANYAO_CONSOLE_DIR: consoleDir }, backend);
    if (backend === "sqlite") {
      // a new embedded installation makes its token: one started again without it has none
      await off.close();
      fs.rmSync(path.join(off.dataDir, "admin-token"));
      off = await startTestServer({ SANYAO_CONSOLE_DIR: consoleDir }, backend, off.dataDir);
    }
    try {
      for (const route of ["/_sanyao/console/", "/_sanyao/console/assets/app-1a2b3c.js"]) {
        const res = await fetch(`${off.opsUrl}${route}`);
        assert.equal(res.status, 404, route);
        assert.match(await res.text(), /operations API is off/);
      }
    } finally {
      await off.close();
    }
  });

  it("overview: the calls, charges and money made, per action; the request log: seq, after, filters, a page per RequestId", async () => {
    const before = (await send("GET", "/_sanyao/requests?limit=1", { headers: { authorization: `Bearer ${READ_TOKEN}` } })).json();
    const lastSeq = Number(before.lastSeq);
    const sdk = faceidSdk(server.port, key);
    for (let i = 0; i < 3; i++) assert.equal((await sdk.PhoneVerification(ALICE)).Result, "0");
    const wrong = faceidSdk(server.port, { ...key, secretKey: `${key.secretKey}x` });
    const refusedId = await wrong.PhoneVerification(ALICE).then(
      () => assert.fail("accepted"),
      (err: { requestId: string }) => err.requestId,
    );
    const read = (route: string) => send("GET", route, { headers: { authorization: `Bearer ${READ_TOKEN}` } });

    const over = await read("/_sanyao/overview?window=hour");
    assert.equal(over.status, 200, over.text);
    const o = over.json() as { actions: Json[]; series: Json[]; latency: Json | null; bucketMs: number; gateway: unknown };
    const pv = o.actions.find((a) => a.action === "PhoneVerification");
    assert.ok(pv, over.text);
    assert.equal(pv.calls, 4, "three answered and one refused signature");
    assert.equal(pv.charged, 3);
    assert.equal(pv.errors, 1);
    assert.equal(pv.refusals, 0);
    assert.ok(Number(pv.amount) > 0);
    assert.equal(o.series.length, 60);
    assert.equal(o.bucketMs, 60_000);
    assert.equal(o.series.reduce((n, s) => n + Number(s.calls), 0) >= 3, true);
    assert.ok(o.latency && Number(o.latency.p99Ms) >= Number(o.latency.p50Ms));
    assert.equal(o.gateway, null);
    for (const w of ["day", "30d"]) assert.equal((await read(`/_sanyao/overview?window=${w}`)).status, 200);
    assert.equal((await read("/_sanyao/overview?window=week")).status, 400);

    const newer = (await read(`/_sanyao/requests?after=${lastSeq}`)).json() as { requests: Json[]; lastSeq: number };
    assert.equal(newer.requests.length, 4);
    assert.deepEqual(
      newer.requests.map((r) => r.seq),
      [lastSeq + 1, lastSeq + 2, lastSeq + 3, lastSeq + 4],
    );
    assert.equal(newer.lastSeq, lastSeq + 4);
    assert.equal(((await read(`/_sanyao/requests?after=${newer.lastSeq}`)).json().requests as Json[]).length, 0);
    const failed = (await read(`/_sanyao/requests?after=${lastSeq}&result=AuthFailure.SignatureFailure`)).json().requests as Json[];
    assert.deepEqual(
      failed.map((r) => r.requestId),
      [refusedId],
    );
    const byKey = (await read(`/_sanyao/requests?after=${lastSeq}&secretId=${key.secretId}&action=PhoneVerification&result=0`)).json();
    assert.equal((byKey.requests as Json[]).length, 3);
    assert.equal(((await read(`/_sanyao/requests?account=${key.accountId}&action=MobileStatus`)).json().requests as Json[]).length, 0);

    const paid = newer.requests[0];
    const page = (await read(`/_sanyao/requests/${paid?.requestId}`)).json() as { request: Json; charge: Json | null; diagnosis: unknown };
    assert.equal(page.request.requestId, paid?.requestId);
    assert.equal(page.charge?.amount, pv.amount === "0.00" ? "0.00" : (Number(pv.amount) / 3).toFixed(2));
    assert.equal(page.diagnosis, null);
    const refused = (await read(`/_sanyao/requests/${refusedId}`)).json() as { charge: unknown; diagnosis: Json | null };
    assert.equal(refused.charge, null);
    assert.ok(refused.diagnosis && (refused.diagnosis.likelyCauses as unknown[]).length > 0);
    assert.equal((await read("/_sanyao/requests/no-such-request")).status, 404);
  });

  it("ledger by day and action, as CSV; usage as CSV", async () => {
    const read = (route: string) => send("GET", route, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const page = (await read(`/_sanyao/accounts/${key.accountId}/ledger?day=${today}&action=PhoneVerification`)).json();
    assert.equal(page.total, 3);
    assert.equal((await read(`/_sanyao/accounts/${key.accountId}/ledger?day=2020-01-01`)).json().total, 0);
    assert.equal((await read(`/_sanyao/accounts/${key.accountId}/ledger?day=${today}&from=${today}`)).status, 400);
    const csv = await read(`/_sanyao/accounts/${key.accountId}/ledger?day=${today}&format=csv`);
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    assert.equal(csv.text.trim().split(/\r?\n/).length, 4, csv.text);
    const usage = await read(`/_sanyao/usage?account=${key.accountId}&format=csv`);
    assert.match(usage.headers.get("content-type") ?? "", /^text\/csv/);
    assert.match(usage.text, /PhoneVerification/);
  });

  it("imports records from the browser as a job with progress; a bad file is refused whole with its line; operator only", async () => {
    const op = { authorization: `Bearer ${TOKEN}` };
    const rows = ["phone,name,idcard", "13900005678,李四,32010219881115306X", "12345,nobody,1", ""].join("\n");
    const started = await send("POST", "/_sanyao/records/imports", { body: rows, headers: { ...op, "content-type": "text/csv" } });
    assert.equal(started.status, 202, started.text);
    const job = started.json().import as Json;
    assert.equal(job.bytesTotal, Buffer.byteLength(rows));
    let done: Json = job;
    for (let i = 0; i < 100 && done.state === "running"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      done = (await send("GET", `/_sanyao/records/imports/${job.id}`, { headers: op })).json().import as Json;
    }
    assert.equal(done.state, "done", JSON.stringify(done));
    assert.equal(done.bytesRead, done.bytesTotal);
    assert.equal(done.imported, 1);
    assert.equal(done.rejected, 1);
    assert.equal((done.rejections as Json[])[0]?.line, 3);

    const bad = ["phone,name,idcard", "13900005678,李四,32010219881115306X", '"13800001234,张三,110105199003072143', ""].join("\n");
    const refused = (await send("POST", "/_sanyao/records/imports", { body: bad, headers: { ...op, "content-type": "text/csv" } })).json()
      .import as Json;
    let r: Json = refused;
    for (let i = 0; i < 100 && r.state === "running"; i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = (await send("GET", `/_sanyao/records/imports/${refused.id}`, { headers: op })).json().import as Json;
    }
    assert.equal(r.state, "refused", JSON.stringify(r));
    assert.equal((r.error as Json).line, 3);
    assert.equal(r.imported, 0);

    const noHeader = (
      await send("POST", "/_sanyao/records/imports", {
        body: "13800001234,张三,110105199003072143\n",
        headers: { ...op, "content-type": "text/csv" },
      })
    ).json().import as Json;
    let h: Json = noHeader;
    for (let i = 0; i < 100 && h.state === "running"; i++) {
      await new Promise((res) => setTimeout(res, 50));
      h = (await send("GET", `/_sanyao/records/imports/${noHeader.id}`, { headers: op })).json().import as Json;
    }
    assert.equal(h.state, "refused");
    assert.equal((h.error as Json).line, 1);

    const readOnly = await send("POST", "/_sanyao/records/imports", {
      body: rows,
      headers: { authorization: `Bearer ${READ_TOKEN}`, "content-type": "text/csv" },
    });
    assert.equal(readOnly.status, 403);
    const stats = (await send("GET", "/_sanyao/records/stats", { headers: op })).json();
    assert.ok(Number(stats.total) > 0);
    assert.ok(Object.keys(stats.byCarrier as Json).length > 0);
  });

  it("one browser import at a time: another sent while one is received gets 409, and the first ends exactly", async () => {
    const op = { authorization: `Bearer ${TOKEN}`, "content-type": "text/csv" };
    const head = "phone,name,idcard\n";
    const row = "13900005678,李四,32010219881115306X\n";
    // the first file is sent in two parts: the server is still receiving it when the second POST comes
    const first = http.request({ host: "127.0.0.1", port: server.opsPort, method: "POST", path: "/_sanyao/records/imports", headers: op });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      first.on("response", (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      first.on("error", reject);
    });
    first.write(head);
    await new Promise((r) => setTimeout(r, 100));
    const second = await send("POST", "/_sanyao/records/imports", { body: head + row, headers: op });
    assert.equal(second.status, 409, second.text);
    assert.match(String(second.json().error), /already running/);
    first.end(row);
    const res = await answered;
    assert.equal(res.status, 202, res.body);
    const started = (JSON.parse(res.body) as { import: Json }).import;
    let job: Json = started;
    for (let i = 0; i < 100 && job.state === "running"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = (await send("GET", `/_sanyao/records/imports/${started.id}`, { headers: op })).json().import as Json;
    }
    assert.equal(job.state, "done", JSON.stringify(job));
    assert.equal(job.imported, 1);
    assert.equal(job.bytesTotal, Buffer.byteLength(head + row));
    const next = await send("POST", "/_sanyao/records/imports", { body: head + row, headers: op });
    assert.equal(next.status, 202, "the next file is taken once the first has ended");
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const polled = (await send("GET", `/_sanyao/records/imports/${(next.json().import as Json).id}`, { headers: op })).json()
        .import as Json;
      if (polled.state !== "running") break;
    }
  });

  it("an import's plaintext file: a dead process's is swept at start, and a server that stops removes its own", async () => {
    const tmp = os.tmpdir();
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    assert.ok(gone > 0);
    const leftover = path.join(tmp, `sanyao-import-${gone}-Zq9x1a`);
    fs.mkdirSync(leftover, { mode: 0o700 });
    fs.writeFileSync(path.join(leftover, "records.csv"), "phone,name,idcard\n");
    const living = path.join(tmp, `sanyao-import-${process.ppid}-Zq9x1b`);
    fs.mkdirSync(living, { mode: 0o700 });
    const started = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    try {
      assert.equal(fs.existsSync(leftover), false, "the directory of a process that is gone is removed at start");
      assert.equal(fs.existsSync(living), true, "a living process's is left alone");
      // an upload still being received when the server stops: its file is removed, nothing imported
      const mine = () => fs.readdirSync(tmp).filter((n) => n.startsWith(`sanyao-import-${process.pid}-`));
      const upload = http.request({
        host: "127.0.0.1",
        port: started.opsPort,
        method: "POST",
        path: "/_sanyao/records/imports",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "text/csv" },
      });
      upload.on("error", () => undefined);
      upload.write("phone,name,idcard\n13900005678,李四,32010219881115306X\n");
      for (let i = 0; i < 100 && mine().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(mine().length, 1, "the upload is spooled");
      await started.close();
      assert.deepEqual(mine(), [], "the stopped server left its upload's file");
      upload.destroy();
    } finally {
      fs.rmSync(living, { recursive: true, force: true });
      await started.close().catch(() => undefined);
    }
  });

  it("a browser upload must arrive whole within SANYAO_REQUEST_TIMEOUT_MS: a slower one is 408, its file removed", async () => {
    const slow = await startTestServer(
      { SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_REQUEST_TIMEOUT_MS: "600", SANYAO_HEADERS_TIMEOUT_MS: "200" },
      backend,
    );
    try {
      const mine = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`sanyao-import-${process.pid}-`));
      const upload = http.request({
        host: "127.0.0.1",
        port: slow.opsPort,
        method: "POST",
        path: "/_sanyao/records/imports",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "text/csv" },
      });
      const status = new Promise<number>((resolve) => {
        upload.on("response", (res) => resolve(res.statusCode ?? 0));
        upload.on("error", () => resolve(0));
      });
      // bytes keep coming, but the whole body takes longer than the request timeout
      upload.write("phone,name,idcard\n");
      const trickle = setInterval(() => upload.write("13900005678,李四,32010219881115306X\n"), 100);
      try {
        assert.equal(await status, 408);
      } finally {
        clearInterval(trickle);
        upload.destroy();
      }
      for (let i = 0; i < 50 && mine().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(mine(), [], "the cut upload's file is removed");
    } finally {
      await slow.close();
    }
  });

  it("the store keeps the last 100 import jobs: an older one is gone (404), the 100th newest is still told", async () => {
    const op = { authorization: `Bearer ${TOKEN}`, "content-type": "text/csv" };
    const body = "phone,name,idcard\n13900005678,李四,32010219881115306X\n";
    const ids: string[] = [];
    for (let n = 0; n < 101; n++) {
      const started = await send("POST", "/_sanyao/records/imports", { body, headers: op });
      assert.equal(started.status, 202, started.text);
      const id = String((started.json().import as Json).id);
      ids.push(id);
      for (let i = 0; i < 200; i++) {
        const job = (await send("GET", `/_sanyao/records/imports/${id}`, { headers: op })).json().import as Json;
        if (job.state !== "running") break;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    assert.equal((await send("GET", `/_sanyao/records/imports/${ids[0]}`, { headers: op })).status, 404, "the 101st newest");
    assert.equal((await send("GET", `/_sanyao/records/imports/${ids[1]}`, { headers: op })).status, 200, "the 100th newest");
  });

  it("an import started on one instance is followed from another (scale-out: two instances on one installation)", async () => {
    const servers = await serversOnOneInstallation(backend, { SANYAO_ADMIN_TOKEN: TOKEN });
    try {
      const [first, ...others] = servers;
      const op = { authorization: `Bearer ${TOKEN}`, "content-type": "text/csv" };
      const body = ["phone,name,idcard", "13900005678,李四,32010219881115306X", ""].join("\n");
      const res = await fetch(`${first.opsUrl}/_sanyao/records/imports`, { method: "POST", headers: op, body });
      const started = ((await res.json()) as { import: Json }).import;
      for (const other of [first, ...others]) {
        let job: Json = {};
        for (let i = 0; i < 100 && job.state !== "done"; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, 50));
          const polled = await fetch(`${other.opsUrl}/_sanyao/records/imports/${started.id}`, { headers: op });
          assert.equal(polled.status, 200);
          job = ((await polled.json()) as { import: Json }).import;
        }
        assert.equal(job.state, "done");
        assert.equal(job.imported, 1);
        assert.equal(job.bytesRead, Buffer.byteLength(body));
      }
      assert.equal(servers.length, backend === "scale-out" ? 2 : 1);
    } finally {
      for (const s of servers) await s.close();
    }
  });

  it("overview: one count per window every few seconds (a loop of callers shares it); a later call counts again", async () => {
    const read = async (window = "hour") => {
      const res = await send("GET", `/_sanyao/overview?window=${window}`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
      assert.equal(res.status, 200, res.text);
      return res.json() as { to: string; actions: Array<{ action: string; calls: number }> };
    };
    const calls = (o: { actions: Array<{ action: string; calls: number }> }) =>
      o.actions.find((a) => a.action === "PhoneVerification")?.calls;
    const t = Date.now() + 60_000; // the SDK signs with the real time: within five minutes of it
    server.setNow(t);
    const [first, together] = await Promise.all([read(), read()]);
    assert.deepEqual(together, first, "callers at once get the one answer");
    assert.equal((await faceidSdk(server.port, key).PhoneVerification(ALICE)).Result, "0");
    server.setNow(t + 2000);
    const cached = await read();
    assert.equal(cached.to, first.to);
    assert.equal(calls(cached), calls(first), "within the cache time: the same count, the new call not in it yet");
    server.setNow(t + 10_000);
    const recounted = await read();
    assert.equal(calls(recounted), (calls(first) ?? 0) + 1, "past the cache time: counted again");
    assert.notDeepEqual((await read("day")).actions, [], "each window has its own answer");
    server.setNow(undefined);
  });

  it("no answer of this suite holds a phone number, name or identity number", () => {
    for (const text of answers)
      for (const value of RAW_VALUES) assert.ok(!text.includes(value), `an answer holds ${value}: ${text.slice(0, 200)}`);
  });
});
