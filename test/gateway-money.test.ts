/**
 * Gateway mode's money at the edges (issue 19 item 1): every call that reached the upstream ends charged to the team
 * or listed as unknown, even when the team's store cannot be written at the moment the upstream answered; and a
 * retry of a call whose charge is still to be written is answered without paying the upstream again. A second
 * sanyao plays the upstream (it charges the company, as Tencent would); the gateway's store refuses writes the way
 * a full disk does (a trigger raising on insert), or is taken away behind a TCP proxy.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import { Client } from "pg";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";
import { DATABASE_FILE } from "../src/store/sqlite/store";
import { callTc3, type Key } from "./helpers/call";
import { within } from "./helpers/cli";
import { TcpProxy } from "./helpers/proxy";
import { BACKENDS, describeBackends, startTestServer, tempDir, type TestServer } from "./helpers/server";
import { PG_URL, REDIS_URL } from "./helpers/services";

const TOKEN = "upstream-operator-token-0001";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const MOBILE = { Mobile: "13800001234" };

async function ops(server: TestServer, method: string, route: string) {
  const res = await fetch(`${server.url}/_sanyao/${route}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
  assert.ok(res.ok, `${method} ${route}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}
const upstreamCalls = async (upstream: TestServer) => ((await ops(upstream, "GET", "requests?limit=1000")).requests as unknown[]).length;

/** Charged calls in an account's ledger, as `sanyao usage` reports them. */
async function charged(server: TestServer, accountId: string): Promise<number> {
  const res = await server.cli(["usage", "--account", accountId, "--json"]);
  assert.equal(res.code, 0, res.stderr);
  return (JSON.parse(res.stdout) as { totals: { charged: number } }).totals.charged;
}

async function unknownIds(server: TestServer): Promise<string[]> {
  const res = await server.cli(["usage", "--unknown", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  return (JSON.parse(res.stdout) as { unknown: Array<{ requestId: string }> }).unknown.map((u) => u.requestId);
}

interface Answer {
  requestId: string;
  /** the Result, or the error code */
  result: string;
  billable: string;
  cache: string;
}
async function call(server: TestServer, key: Key, params: Record<string, string>, action = "PhoneVerification"): Promise<Answer> {
  const res = await callTc3(server.port, key, params, { action });
  const r = res.json.Response;
  return {
    requestId: r.RequestId,
    result: String(r.Result ?? r.Error?.Code),
    billable: String(res.headers["x-sanyao-billable"] ?? "-"),
    cache: String(res.headers["x-sanyao-cache"] ?? "-"),
  };
}
const shown = (a: Answer) => `${a.result}/billable ${a.billable}/cache ${a.cache}`;

/**
 * Makes the server's store refuse inserts into `table` as a full disk would (the statement fails; the database
 * answers otherwise); the function returned lets it write again.
 */
async function refuseWrites(server: TestServer, table: "ledger" | "upstream_unknown"): Promise<() => Promise<void>> {
  const trigger = `refuse_${table}`;
  if (server.backend === "sqlite") {
    const db = new Database(path.join(server.dataDir, DATABASE_FILE));
    db.pragma("busy_timeout = 5000");
    db.exec(`CREATE TRIGGER ${trigger} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    return async () => {
      db.exec(`DROP TRIGGER ${trigger}`);
      db.close();
    };
  }
  const schema = server.env.SANYAO_DATABASE_SCHEMA;
  const pg = new Client({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(
    `CREATE FUNCTION ${schema}.${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$`,
  );
  await pg.query(`CREATE TRIGGER ${trigger} BEFORE INSERT ON ${schema}.${table} FOR EACH ROW EXECUTE FUNCTION ${schema}.${trigger}()`);
  return async () => {
    await pg.query(`DROP TRIGGER ${trigger} ON ${schema}.${table}`);
    await pg.query(`DROP FUNCTION ${schema}.${trigger}()`);
    await pg.end();
  };
}

/**
 * An HTTP hop between the gateway and the upstream, as a load balancer would be: it passes calls through, or
 * (`badGateway`) passes the call on, waits for the upstream's answer and answers 502 instead: sent and paid for; or
 * (`result`) passes the upstream's answer on with its Result replaced, as an upstream newer than sanyao's tables would.
 */
async function relay(targetPort: number) {
  const state: { badGateway: boolean; result?: string } = { badGateway: false };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const forward = http.request(
        { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const body: Buffer[] = [];
          answer.on("data", (c: Buffer) => body.push(c));
          answer.on("end", () => {
            if (state.badGateway) res.writeHead(502, { "content-type": "text/html" }).end("<html>502 Bad Gateway</html>");
            else if (state.result !== undefined) {
              const envelope = JSON.parse(Buffer.concat(body).toString("utf8")) as { Response: Record<string, unknown> };
              envelope.Response.Result = state.result;
              res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(envelope));
            } else res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(body));
          });
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `sanyao upstream set` on the gateway: `url`, the company key, the upstream's own public keys. */
async function pointAt(gateway: TestServer, upstream: TestServer, url: string, company: Key) {
  const keys = JSON.parse((await upstream.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
  const set = await gateway.cli([
    ...["upstream", "set", "--secret-id", company.secretId, "--secret-key", company.secretKey, "--url", url],
    ...["--rsa-public-key", keys.rsa, "--sm2-public-key", keys.sm2],
  ]);
  assert.equal(set.code, 0, set.stderr);
}

/** A team of its own, once the gateway answers from the upstream (it reads `upstream set` within a second). */
async function teamOf(gateway: TestServer, name: string) {
  const team = await gateway.addAccount(name);
  await within(20_000, async () => (await call(gateway, team, MOBILE, "MobileStatus")).result === "0");
  return { ...team, warmUp: 1 };
}

/** The journal is replayed every 5 s: a charge it holds is in the ledger within this. */
const REPLAYED_MS = 15_000;

describeBackends("gateway mode: a paid answer is never lost", (backend) => {
  let upstream: TestServer;
  let gateway: TestServer;
  let hop: Awaited<ReturnType<typeof relay>>;
  let company: Key & { accountId: string };
  before(async () => {
    upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    hop = await relay(upstream.port);
    gateway = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    await pointAt(gateway, upstream, hop.url, company);
  });
  after(async () => {
    await gateway.close();
    await hop.close();
    await upstream.close();
  });

  it("the team's ledger refuses the charge once the upstream answered: answered charged, written once; a retry stays off the upstream", async (t) => {
    const team = await teamOf(gateway, "team-ledger-refuses");
    await ops(upstream, "DELETE", "requests");
    const companyBefore = await charged(upstream, company.accountId);
    const allow = await refuseWrites(gateway, "ledger");
    let first: Answer;
    let retry: Answer;
    try {
      first = await call(gateway, team, ALICE);
      retry = await call(gateway, team, ALICE);
    } finally {
      await allow();
    }
    const reached = await upstreamCalls(upstream);
    const waited = await within(REPLAYED_MS, async () => (await charged(gateway, team.accountId)) > team.warmUp).catch(() => "never");
    const teamPaid = (await charged(gateway, team.accountId)) - team.warmUp;
    const companyPaid = (await charged(upstream, company.accountId)) - companyBefore;
    t.diagnostic(
      `first ${shown(first)}, retry ${shown(retry)}; upstream reached ${reached}x, company paid ${companyPaid}, ` +
        `team charged ${teamPaid} (in the ledger after ${waited} ms)`,
    );
    assert.deepEqual([first.result, first.billable], ["0", "1"], "the upstream's answer, charged");
    assert.deepEqual([retry.result, retry.billable], ["0", "0"], "the retry: the same answer, not charged again");
    assert.equal(reached, 1, "the retry did not reach the upstream");
    assert.equal(companyPaid, 1);
    assert.equal(teamPaid, 1, "the team is charged exactly once, once its store takes writes again");
  });

  it("a 502 that came after the call was sent: the call is listed as unknown (the upstream may have charged it)", async (t) => {
    const team = await teamOf(gateway, "team-502");
    const companyBefore = await charged(upstream, company.accountId);
    hop.state.badGateway = true;
    let answer: Answer;
    try {
      answer = await call(gateway, team, MOBILE, "MobileStatus");
    } finally {
      hop.state.badGateway = false;
    }
    const listed = (await unknownIds(gateway)).includes(answer.requestId);
    const companyPaid = (await charged(upstream, company.accountId)) - companyBefore;
    t.diagnostic(`answer ${shown(answer)}; company paid ${companyPaid}; listed by usage --unknown: ${listed}`);
    assert.deepEqual([answer.result, answer.billable], ["-3", "0"], "MobileStatus's busy code, uncharged");
    assert.equal(companyPaid, 1, "the upstream did answer, and charged");
    assert.equal(listed, true);
  });

  it("a Result missing from the action's table: answered as the upstream did, uncharged, and listed as unknown", async (t) => {
    const team = await teamOf(gateway, "team-unrecognised");
    const companyBefore = await charged(upstream, company.accountId);
    hop.state.result = "7";
    let answer: Answer;
    try {
      answer = await call(gateway, team, MOBILE, "MobileStatus");
    } finally {
      hop.state.result = undefined;
    }
    const unknown = JSON.parse((await gateway.cli(["usage", "--unknown", "--json"])).stdout) as {
      unknown: Array<{ requestId: string; reason: string }>;
    };
    const listed = unknown.unknown.find((u) => u.requestId === answer.requestId);
    const teamPaid = (await charged(gateway, team.accountId)) - team.warmUp;
    const companyPaid = (await charged(upstream, company.accountId)) - companyBefore;
    const logged = gateway.logs.some((l) => l.includes(answer.requestId) && l.includes("unrecognised Result 7"));
    t.diagnostic(
      `answer ${shown(answer)}; company paid ${companyPaid}, team charged ${teamPaid}; listed: ${listed?.reason ?? "no"}; logged: ${logged}`,
    );
    assert.deepEqual([answer.result, answer.billable], ["7", "0"], "the upstream's answer, uncharged");
    assert.equal(companyPaid, 1);
    assert.equal(teamPaid, 0);
    assert.equal(listed?.reason, "unrecognised Result 7");
    assert.equal(logged, true, "a log line names the RequestId and the Result");
  });

  it("a lost call while the store refuses the unknown list: journaled, and listed once the store takes writes", async (t) => {
    const team = await teamOf(gateway, "team-lost-unwritable");
    const allow = await refuseWrites(gateway, "upstream_unknown");
    hop.state.badGateway = true;
    let answer: Answer;
    let listedWhileRefused: boolean;
    try {
      answer = await call(gateway, team, MOBILE, "MobileStatus");
      listedWhileRefused = (await unknownIds(gateway)).includes(answer.requestId);
    } finally {
      hop.state.badGateway = false;
      await allow();
    }
    const waited = await within(REPLAYED_MS, async () => (await unknownIds(gateway)).includes(answer.requestId)).catch(() => "never");
    t.diagnostic(`answer ${shown(answer)}; listed while the store refused: ${listedWhileRefused}; listed after ${waited} ms`);
    assert.deepEqual([answer.result, answer.billable], ["-3", "0"]);
    assert.equal(listedWhileRefused, false);
    assert.notEqual(waited, "never", "listed once the store takes writes");
  });

  it("the journal cannot be written either: the paid answer is held in memory, /readyz says 503 and the metric counts it", async (t) => {
    // A journal directory that can never be made (its parent is a file), whoever runs the test.
    const blocked = path.join(tempDir(), "not-a-directory");
    fs.writeFileSync(blocked, "");
    const held = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_JOURNAL_DIR: path.join(blocked, "journal") }, backend);
    try {
      await pointAt(held, upstream, hop.url, company);
      const team = await teamOf(held, "team-held");
      const allow = await refuseWrites(held, "ledger");
      let answer: Answer;
      let ready: { status: number; anonymous: unknown; checks: Record<string, string> };
      let metric: string | undefined;
      try {
        answer = await call(held, team, ALICE);
        const anonymous = await fetch(`${held.url}/readyz`);
        const operator = await fetch(`${held.url}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
        ready = {
          status: anonymous.status,
          anonymous: await anonymous.json(),
          checks: ((await operator.json()) as { checks: Record<string, string> }).checks,
        };
        metric = /^sanyao_paid_answers_held (\d+)$/m.exec(await (await fetch(`${held.url}/metrics`)).text())?.[1];
      } finally {
        await allow();
      }
      t.diagnostic(`answer ${shown(answer)}; /readyz ${ready.status} ${JSON.stringify(ready.checks)}; sanyao_paid_answers_held ${metric}`);
      assert.deepEqual([answer.result, answer.billable], ["0", "1"]);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.anonymous, { ready: false });
      assert.match(ready.checks["paid-answers"] ?? "", /1 paid answer held in memory/);
      assert.equal(metric, "1");
      const line = held.logs.find((l) => l.includes(answer.requestId) && l.includes("held in memory"));
      assert.ok(line, "a log line names the RequestId");
      for (const value of Object.values(ALICE)) assert.equal(held.logs.join("\n").includes(value), false, "no personal value logged");
      // Once the store takes writes again, the charge is written from memory and the server is ready again.
      await within(REPLAYED_MS, async () => (await charged(held, team.accountId)) > team.warmUp);
      assert.equal((await charged(held, team.accountId)) - team.warmUp, 1);
      await within(REPLAYED_MS, async () => (await fetch(`${held.url}/readyz`)).status === 200);
      assert.match(await (await fetch(`${held.url}/metrics`)).text(), /^sanyao_paid_answers_held 0$/m);
    } finally {
      await held.close();
    }
  });
});

describe("gateway mode: PostgreSQL away at the moment the upstream answered", {
  skip: !BACKENDS.includes("scale-out") && "SANYAO_TEST_BACKENDS excludes scale-out",
}, () => {
  let upstream: TestServer;
  let gateway: TestServer;
  let company: Key & { accountId: string };
  const toPostgres = new TcpProxy(5432);
  let toUpstream: TcpProxy;
  before(async () => {
    upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, "sqlite");
    company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    toUpstream = new TcpProxy(upstream.port);
    await toUpstream.start();
    const pgPort = await toPostgres.start();
    // A held call waits for the test, not for the upstream's time budget.
    gateway = await startTestServer(
      { SANYAO_DATABASE_URL: PG_URL.replace(":5432/", `:${pgPort}/`), SANYAO_UPSTREAM_TIMEOUT_MS: "60000" },
      "scale-out",
    );
    await pointAt(gateway, upstream, `http://127.0.0.1:${toUpstream.port}`, company);
  });
  after(async () => {
    toUpstream.release();
    await toPostgres.start();
    await gateway.close();
    await toUpstream.stop();
    await toPostgres.stop();
    await upstream.close();
  });

  it("answered charged, written once PostgreSQL is back; the retry is answered without the upstream", async (t) => {
    const team = await teamOf(gateway, "team-pg-away");
    await ops(upstream, "DELETE", "requests");
    const companyBefore = await charged(upstream, company.accountId);
    // The call is admitted and sent; the upstream's answer is held while PostgreSQL goes away.
    toUpstream.holdAnswers();
    const answering = call(gateway, team, ALICE);
    await within(10_000, async () => toUpstream.waiting > 0);
    await toPostgres.stop();
    toUpstream.release();
    const first = await answering;
    await toPostgres.start();
    const retry = await call(gateway, team, ALICE);
    const reached = await upstreamCalls(upstream);
    const waited = await within(REPLAYED_MS, async () => (await charged(gateway, team.accountId)) > team.warmUp).catch(() => "never");
    const teamPaid = (await charged(gateway, team.accountId)) - team.warmUp;
    const companyPaid = (await charged(upstream, company.accountId)) - companyBefore;
    t.diagnostic(
      `first ${shown(first)}, retry ${shown(retry)}; upstream reached ${reached}x, company paid ${companyPaid}, ` +
        `team charged ${teamPaid} (in the ledger after ${waited} ms)`,
    );
    assert.deepEqual([first.result, first.billable], ["0", "1"]);
    assert.deepEqual([retry.result, retry.billable], ["0", "0"]);
    assert.equal(reached, 1);
    assert.equal(companyPaid, 1);
    assert.equal(teamPaid, 1);
  });
});

describe("gateway mode: a budget counter Redis lost is seeded with the charges still in the journal", {
  skip: !BACKENDS.includes("scale-out") && "SANYAO_TEST_BACKENDS excludes scale-out",
}, () => {
  let upstream: TestServer;
  let gateway: TestServer;
  before(async () => {
    upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, "sqlite");
    const company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    gateway = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, "scale-out");
    await pointAt(gateway, upstream, upstream.url, company);
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it("a charge the ledger has not taken yet counts against the budget once the counter is seeded again", async (t) => {
    // MobileStatus costs 0.10: the warm-up call (in the ledger) and the first call (in the journal) leave 0.05.
    const team = await gateway.addAccount("team-budget");
    const set = await gateway.cli(["accounts", "set", team.accountId, "--monthly-budget", "0.25"]);
    assert.equal(set.code, 0, set.stderr);
    await within(20_000, async () => (await call(gateway, team, MOBILE, "MobileStatus")).result === "0");
    const allow = await refuseWrites(gateway, "ledger");
    let first: Answer;
    let second: Answer;
    let lost: number;
    try {
      first = await call(gateway, team, MOBILE, "MobileStatus");
      // Redis loses the budget's counter (restarted without persistence, or the key evicted).
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${gateway.env.SANYAO_REDIS_PREFIX}spend:*`);
      lost = keys.length > 0 ? await redis.del(...keys) : 0;
      redis.disconnect();
      second = await call(gateway, team, { Mobile: "13900005678" }, "MobileStatus");
    } finally {
      await allow();
    }
    t.diagnostic(`first ${shown(first)}; ${lost} budget keys dropped from Redis; second ${shown(second)}`);
    assert.deepEqual([first.result, first.billable], ["0", "1"], "charged, to the journal");
    assert.ok(lost > 0, "the budget's counter was in Redis");
    assert.equal(second.result, "UnauthorizedOperation.Arrears", "0.20 spent of 0.25: no room for 0.10");
  });
});
