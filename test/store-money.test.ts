/**
 * Money at the edges of the scale-out engines: a PostgreSQL COMMIT whose outcome the server did not see is settled
 * before the answer, so the answer (Result and X-Sanyao-Billable) and the ledger agree and a retry is never charged
 * twice; a Redis that restarts mid-month never gives a gateway team its budget again.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { Client } from "pg";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";
import { callTc3, type Key } from "./helpers/call";
import { sanyao, serveProcess, within, type ServeProcess } from "./helpers/cli";
import { type CommitTrap, TcpProxy } from "./helpers/proxy";
import { OwnRedis } from "./helpers/redis-server";
import { faceidSdk } from "./helpers/sdk";
import { BACKENDS, dropScaleOut, scaleOutEnv, startTestServer, tempDir, type TestServer } from "./helpers/server";
import { ensureServices, PG_URL } from "./helpers/services";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
/** The trapped COMMIT is the one of the call's charge: background writes of the servers on the proxy pass untouched. */
const LEDGER_INSERT = "INSERT INTO ledger";
const skip = !BACKENDS.includes("scale-out") && "SANYAO_TEST_BACKENDS excludes scale-out";

describe("a PostgreSQL COMMIT whose outcome was not seen", { skip }, () => {
  const env = scaleOutEnv();
  const proxy = new TcpProxy(5432);
  /** the servers' environment: PostgreSQL through the proxy */
  let proxied: Record<string, string>;
  let key: Key & { accountId: string };
  const pg = new Client({ connectionString: PG_URL });
  const servers: ServeProcess[] = [];
  const cli = async (...args: string[]) => {
    const res = await sanyao([...args, "--json"], env);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout);
  };

  before(async () => {
    await ensureServices();
    const port = await proxy.start();
    proxied = { ...env, SANYAO_DATABASE_URL: env.SANYAO_DATABASE_URL!.replace(":5432/", `:${port}/`) };
    const account = await cli("accounts", "create", "--name", "commits");
    key = { accountId: account.accountId, ...(await cli("keys", "create", "--account", account.accountId)) };
    await cli("accounts", "set", account.accountId, "--daily-cap", "0", "--rate-limit", "100000");
    const file = path.join(tempDir(), "r.csv");
    fs.writeFileSync(file, `phone,name,idcard\n${ZHANG.Phone},${ZHANG.Name},${ZHANG.IdCard}\n`);
    await cli("records", "import", file);
    await pg.connect();
  });
  // Each case's servers stop with it: one left running would replay its journal through the proxy into the next case.
  afterEach(() => Promise.all(servers.splice(0).map((s) => s.stop())));
  after(async () => {
    proxy.release();
    await proxy.stop();
    await pg.end();
    await dropScaleOut(env);
  });

  /** A server of its own for each case, so that one that dies cannot hide what the next case measures. */
  async function server(extra: Record<string, string> = {}): Promise<ServeProcess> {
    // A journal of each server's own unless the case shares one: none replays another case's charges through the trap.
    const s = await serveProcess([], { ...proxied, SANYAO_JOURNAL_DIR: tempDir(), ...extra });
    servers.push(s);
    return s;
  }

  const schema = () => env.SANYAO_DATABASE_SCHEMA!;
  async function ledger(): Promise<{ rows: number; amount: number; balance: number }> {
    const charged = await pg.query<{ rows: string; amount: string }>(
      `SELECT count(*) AS rows, coalesce(sum(unit_price), 0) AS amount FROM ${schema()}.ledger WHERE account_id = $1`,
      [key.accountId],
    );
    const account = await pg.query<{ balance: string }>(`SELECT balance FROM ${schema()}.accounts WHERE account_id = $1`, [key.accountId]);
    return { rows: Number(charged.rows[0]?.rows), amount: Number(charged.rows[0]?.amount), balance: Number(account.rows[0]?.balance) };
  }
  const rowsOf = async (requestId: string) =>
    Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema()}.ledger WHERE request_id = $1`, [requestId])).rows[0]?.n);

  interface Answer {
    requestId: string;
    result: string;
    billable: string;
  }
  async function call(s: ServeProcess): Promise<Answer> {
    const res = await callTc3(s.port, key, ZHANG);
    const r = res.json.Response;
    return { requestId: r.RequestId, result: String(r.Result ?? r.Error?.Code), billable: String(res.headers["x-sanyao-billable"]) };
  }

  /**
   * The call whose COMMIT is trapped, then (when the answer was uncharged) the client's retry. Whatever happened
   * to the COMMIT: the answers charged exactly what the ledger holds, the balance moved by that, once.
   */
  async function trappedCall(s: ServeProcess, trap: CommitTrap, whileSprung?: () => Promise<void>) {
    const before = await ledger();
    const sprung = proxy.trapCommit(trap, LEDGER_INSERT);
    const answering = call(s).catch((err: Error) => ({ requestId: "", result: `no answer: ${err.message}`, billable: "" }));
    await sprung;
    let first: Answer;
    try {
      await whileSprung?.();
      first = await answering;
    } finally {
      proxy.release();
      await proxy.start().catch(() => undefined); // if whileSprung stopped it
    }
    const answers = [first];
    if (first.billable !== "1")
      answers.push(await call(s).catch((err: Error) => ({ requestId: "", result: `no answer: ${err.message}`, billable: "" })));
    return { before, first, answers };
  }

  async function agree(s: ServeProcess, run: Awaited<ReturnType<typeof trappedCall>>, t: { diagnostic(m: string): void }) {
    const after = await ledger();
    const billed = run.answers.filter((a) => a.billable === "1").length;
    t.diagnostic(
      `answers ${run.answers.map((a) => `${a.result}/billable ${a.billable || "-"}`).join(", ")}; ` +
        `ledger rows +${after.rows - run.before.rows}, balance -${run.before.balance - after.balance} fen; server ${s.child.exitCode === null ? "up" : "exited"}`,
    );
    assert.equal(s.child.exitCode, null, "the server is still up");
    assert.equal(s.child.signalCode, null, "the server is still up");
    assert.deepEqual(run.answers.map((a) => [a.result, a.billable]).at(-1), ["0", "1"], "the call (or its retry) is answered, charged");
    assert.equal(await rowsOf(run.first.requestId), run.first.billable === "1" ? 1 : 0, "the first answer says what the ledger holds");
    assert.equal(after.rows - run.before.rows, billed, "one ledger row per charged answer");
    assert.equal(billed, 1, "the call is charged once, retry or not");
    assert.equal(run.before.balance - after.balance, after.amount - run.before.amount, "the balance moved by the charges, once each");
  }

  it("its reply held back past the timeout while PostgreSQL applied it: answered charged, as the ledger says", async (t) => {
    const s = await server();
    const run = await trappedCall(s, "hold-reply");
    await agree(s, run, t);
  });

  it("the connection dropped right after the COMMIT went out: the server stays up, the answer is what the ledger says", async (t) => {
    const s = await server();
    const run = await trappedCall(s, "drop-after");
    await agree(s, run, t);
  });

  it("the connection dropped before PostgreSQL saw the COMMIT: written again on another connection, once", async (t) => {
    const s = await server();
    const run = await trappedCall(s, "drop-before");
    await agree(s, run, t);
  });

  for (const trap of ["drop-after", "drop-before"] as const) {
    it(`PostgreSQL away once the COMMIT went out (${trap}): answered charged, written exactly once when it is back`, async (t) => {
      const s = await server();
      const run = await trappedCall(s, trap, () => proxy.stop());
      assert.deepEqual([run.first.result, run.first.billable], ["0", "1"], "the outcome is decided as charged, not answered uncharged");
      // Once PostgreSQL answers again, the charge the answer announced is in the ledger, exactly once.
      const waited = await within(10_000, async () => (await rowsOf(run.first.requestId)) === 1);
      t.diagnostic(`in the ledger ${waited} ms after PostgreSQL came back`);
      await agree(s, run, t);
      // The operator is told, by RequestId (the log is written out within a second).
      const told = new RegExp(`"kind":"ledger".*charge ${run.first.requestId}.*answered as charged`);
      await within(10_000, async () => told.test(s.stdout()));
    });
  }

  it("PostgreSQL away once the COMMIT went out, and sanyao restarted before it is back: written once, from the journal", async (t) => {
    // A journal of this case's own: no other server of the suite replays it.
    const journal = { SANYAO_JOURNAL_DIR: tempDir() };
    const s = await server(journal);
    const before = await ledger();
    const sprung = proxy.trapCommit("drop-before", LEDGER_INSERT);
    const answering = call(s);
    await sprung;
    await proxy.stop();
    const first = await answering;
    // Stopped while PostgreSQL is still away: the charge its answer announced is not in the ledger.
    await s.stop();
    const whileAway = await rowsOf(first.requestId);
    await proxy.start();
    await server(journal);
    const waited = await within(15_000, async () => (await rowsOf(first.requestId)) === 1).catch(() => "never");
    const after = await ledger();
    t.diagnostic(
      `answer ${first.result}/billable ${first.billable}; in the ledger while away: ${whileAway}; after the restart: ` +
        `${await rowsOf(first.requestId)} (after ${waited} ms), ledger rows +${after.rows - before.rows}, balance -${before.balance - after.balance} fen`,
    );
    assert.deepEqual([first.result, first.billable], ["0", "1"]);
    assert.equal(whileAway, 0, "the COMMIT never reached PostgreSQL");
    assert.equal(await rowsOf(first.requestId), 1, "the restarted server wrote the charge");
    assert.equal(after.rows - before.rows, 1);
    assert.equal(before.balance - after.balance, after.amount - before.amount, "one debit, of the charge's price");
  });
});

describe("a gateway team's monthly budget across a Redis restart", { skip }, () => {
  const redis = new OwnRedis();
  /** between the gateway and its upstream, so a test holds a call in flight as long as it needs */
  let toUpstream: TcpProxy;
  let upstream: TestServer;
  let gateway: TestServer;
  const TOKEN = "upstream-operator-token-0001";
  const MOBILE = { Mobile: "13800001234" };

  before(async () => {
    await ensureServices();
    await redis.start();
    upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, "sqlite");
    const company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    toUpstream = new TcpProxy(upstream.port);
    const port = await toUpstream.start();
    gateway = await startTestServer(
      // A held call waits for the test, not for the upstream's time budget.
      { SANYAO_REDIS_URL: redis.url, SANYAO_UPSTREAM_RATE_LIMIT: "1000", SANYAO_UPSTREAM_TIMEOUT_MS: "60000" },
      "scale-out",
    );
    // The month cannot turn during the suite: the gateway's clock stands still at its start.
    gateway.setNow(Date.now());
    const keys = JSON.parse((await upstream.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
    const set = await gateway.cli([
      ...["upstream", "set", "--secret-id", company.secretId, "--secret-key", company.secretKey],
      ...["--url", `http://127.0.0.1:${port}`, "--rsa-public-key", keys.rsa, "--sm2-public-key", keys.sm2],
    ]);
    assert.equal(set.code, 0, set.stderr);
  });
  after(async () => {
    toUpstream.release();
    await gateway.close();
    await toUpstream.stop();
    await upstream.close();
    await redis.stop();
  });

  /** A team of its own with a budget of 0.55 (MobileStatus costs 0.10) that has spent 0.30 of it. */
  async function teamThatSpent30() {
    const team = await gateway.addAccount("team");
    assert.equal((await gateway.cli(["accounts", "set", team.accountId, "--monthly-budget", "0.55"])).code, 0);
    const sdk = faceidSdk(gateway.port, team);
    // The gateway reads the upstream settings within a second of `upstream set`: the first calls may still be local.
    await within(20_000, async () => (await sdk.MobileStatus(MOBILE)).Result === "0" && (await spent(team.accountId)) > 0);
    while ((await spent(team.accountId)) < 30) assert.equal((await sdk.MobileStatus(MOBILE)).Result, "0");
    assert.equal(await spent(team.accountId), 30);
    return { team, sdk };
  }
  async function spent(accountId: string): Promise<number> {
    const usage = JSON.parse((await gateway.cli(["usage", "--account", accountId, "--json"])).stdout) as { totals: { amount: string } };
    return Math.round(Number(usage.totals.amount) * 100);
  }
  /** Calls until the budget refuses one; the Results answered before it. */
  async function spendTheRest(sdk: ReturnType<typeof faceidSdk>): Promise<string[]> {
    const results: string[] = [];
    for (let i = 0; i < 12; i++) {
      const outcome = await sdk.MobileStatus(MOBILE).then(
        (a) => String(a.Result),
        (err: { code: string }) => err.code,
      );
      if (outcome === "UnauthorizedOperation.Arrears") return results;
      results.push(outcome);
    }
    return results;
  }
  /** A call of `sdk`'s whose upstream answer is held at the proxy: its price is set aside, its answer not come yet. */
  async function heldCall(sdk: ReturnType<typeof faceidSdk>) {
    const waiting = toUpstream.waiting;
    toUpstream.holdAnswers();
    const call = sdk.MobileStatus(MOBILE).then(
      (a) => String(a.Result),
      (err: { code: string }) => err.code,
    );
    await within(10_000, async () => toUpstream.waiting > waiting);
    return { answer: call };
  }
  async function restartRedis() {
    await redis.restart();
    await within(20_000, async () => (await fetch(`${gateway.url}/readyz`)).status === 200);
  }

  it("an uncharged call in flight across the restart: what it gives back never makes the month's spend forgotten", async (t) => {
    const { team, sdk } = await teamThatSpent30();
    const inFlight = await heldCall(sdk);
    await restartRedis();
    // The upstream connection is cut: the call is answered uncharged, and its reservation given back.
    await toUpstream.stop();
    toUpstream.release();
    await toUpstream.start();
    assert.equal(await inFlight.answer, "-3", "MobileStatus's busy code, uncharged");
    const after = await spendTheRest(sdk);
    const total = await spent(team.accountId);
    t.diagnostic(`spent 0.30 before the restart, then ${after.length} more calls: ${(total / 100).toFixed(2)} of a 0.55 budget`);
    assert.deepEqual(after, ["0", "0"], "two calls of 0.10 fit in what was left");
    assert.equal(total, 50);
  });

  it("a charged call in flight across the restart: counted once the counter is seeded again, never a fen over", async (t) => {
    const { team, sdk } = await teamThatSpent30();
    const inFlight = await heldCall(sdk);
    await restartRedis();
    // A call after the restart seeds the counter from the ledger while the first is still unanswered (both held).
    const next = await heldCall(sdk);
    toUpstream.release();
    assert.deepEqual([await inFlight.answer, await next.answer], ["0", "0"]);
    const after = await spendTheRest(sdk);
    const total = await spent(team.accountId);
    t.diagnostic(
      `spent 0.30 before the restart, 0.20 across it, then ${after.length} more calls: ${(total / 100).toFixed(2)} of a 0.55 budget`,
    );
    assert.deepEqual(after, [], "0.50 spent: no call of 0.10 fits");
    assert.equal(total, 50);
  });
});
