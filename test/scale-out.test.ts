/**
 * Scale-out: several `sanyao serve` processes on PostgreSQL + Redis behave as one service; they fail cleanly
 * while an engine is away and recover by themselves when it returns; probes and metrics say so.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { callTc3, type Key } from "./helpers/call";
import { sanyao, serveProcess, within, type ServeProcess } from "./helpers/cli";
import { TcpProxy } from "./helpers/proxy";
import { BACKENDS, dropScaleOut, scaleOutEnv, tempDir } from "./helpers/server";
import { ensureServices } from "./helpers/services";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const fen = (s: string) => Math.round(Number(s) * 100);

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

const skip = !BACKENDS.includes("scale-out") && "SANYAO_TEST_BACKENDS excludes scale-out";

describe("three instances on PostgreSQL + Redis", { skip }, () => {
  // The operator token: the scenario commands go through an instance's operations API.
  const env: Record<string, string> = { ...scaleOutEnv(), SANYAO_ADMIN_TOKEN: "scale-out-operator-token-0001" };
  const servers: ServeProcess[] = [];
  let key: Key & { accountId: string };
  const cli = async (...args: string[]) => {
    const res = await sanyao([...args, "--json"], env);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout);
  };

  before(async () => {
    await ensureServices();
    // One second of the servers' clocks for the whole suite: a burst is counted in one window however slow it arrives.
    const clock = String(Date.now());
    for (let i = 0; i < 3; i++) servers.push(await serveProcess([], { ...env, SANYAO_CLOCK: clock }));
    const account = await cli("accounts", "create", "--name", "shared");
    key = { accountId: account.accountId, ...(await cli("keys", "create", "--account", account.accountId)) };
    await cli("accounts", "set", account.accountId, "--daily-cap", "0");
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await dropScaleOut(env);
  });

  it("serve refuses to start without the shared secret, and says how to make one", async () => {
    const { SANYAO_SECRET: _, ...withoutSecret } = env;
    const res = await sanyao(["serve", "--port", "0"], withoutSecret);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /sanyao secret create --out/);
    assert.match(res.stderr, /SANYAO_SECRET_FILE/);
  });

  it("a scenario added with the CLI takes its N calls across the three instances exactly, then none", async () => {
    // An account of its own with room to spare: the suite's clock stands still, so every call counts in one second.
    const account = await cli("accounts", "create", "--name", "scripted");
    const own = { accountId: account.accountId, ...(await cli("keys", "create", "--account", account.accountId)) };
    await cli("accounts", "set", account.accountId, "--daily-cap", "0", "--rate-limit", "1000");
    const file = path.join(tempDir(), "s.csv");
    fs.writeFileSync(file, `phone,name,idcard\n${ZHANG.Phone},${ZHANG.Name},${ZHANG.IdCard}\n`);
    await cli("records", "import", file);
    const { scenario } = await cli(
      "scenarios",
      "add",
      "--endpoint",
      servers[1]!.url,
      "--account",
      own.accountId,
      "--error",
      "InternalError",
      "--times",
      "4",
    );
    await new Promise((r) => setTimeout(r, 1200)); // changes reach every running instance within a second
    const answers: string[] = [];
    for (let i = 0; i < 13; i++) {
      const response = (await callTc3(servers[i % 3]!.port, own, ZHANG)).json.Response;
      answers.push(String(response.Error ? response.Error.Code : response.Result));
    }
    assert.deepEqual(answers, [...Array(4).fill("InternalError"), ...Array(9).fill("0")], "four uses shared, not four per instance");
    const listed = await cli("scenarios", "list", "--endpoint", servers[2]!.url);
    assert.equal(
      listed.scenarios.some((s: { id: string }) => s.id === scenario.id),
      false,
      "used up, it is no longer listed",
    );
    await cli("scenarios", "clear", "--endpoint", servers[0]!.url);
  });

  it("a record imported through one instance's CLI answers on all three", async () => {
    const file = path.join(tempDir(), "r.csv");
    fs.writeFileSync(file, `phone,name,idcard\n${ZHANG.Phone},${ZHANG.Name},${ZHANG.IdCard}\n`);
    const imported = await cli("records", "import", file);
    assert.equal(imported.imported, 1);
    for (const s of servers) {
      const response = (await callTc3(s.port, key, ZHANG)).json.Response;
      assert.equal(response.Result, "0", JSON.stringify(response.Error));
    }
  });

  it("100 requests in one second spread over the three: exactly 20 admitted", async (t) => {
    const burst = await cli("accounts", "create", "--name", "burst");
    const k = { ...(await cli("keys", "create", "--account", burst.accountId)) };
    await cli("accounts", "set", burst.accountId, "--daily-cap", "0");
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => callTc3(servers[i % 3]!.port, k, { ...ZHANG, Phone: "13900009999" })),
    );
    const admitted = answers.filter((r) => r.json.Response.Result === "-9").length;
    const refused = answers.filter((r) => r.json.Response.Error?.Code === "RequestLimitExceeded").length;
    assert.deepEqual([admitted, refused], [20, 80]);
    t.diagnostic(`admitted ${admitted}, RequestLimitExceeded ${refused}`);
  });

  it("daily caps are shared: the fourth attempt for one identity number, on any instance, is -12", async () => {
    const capped = await cli("accounts", "create", "--name", "capped");
    const k = { ...(await cli("keys", "create", "--account", capped.accountId)) };
    await cli("accounts", "set", capped.accountId, "--daily-cap", "3");
    const results = [];
    for (let i = 0; i < 5; i++) {
      results.push((await callTc3(servers[i % 3]!.port, k, { ...ZHANG, Phone: `1370000000${i}` })).json.Response.Result);
    }
    assert.deepEqual(results, ["-9", "-9", "-9", "-12", "-12"]);
  });

  it("60 concurrent clients over the three: charged answers = ledger rows = balance change", async (t) => {
    await cli("accounts", "set", key.accountId, "--rate-limit", "100000");
    await new Promise((r) => setTimeout(r, 400)); // the instances' cached account rows expire
    const before = await cli("accounts", "show", key.accountId);
    const usageBefore = await cli("usage", "--account", key.accountId);
    let charged = 0;
    await Promise.all(
      Array.from({ length: 60 }, async (_, client) => {
        for (let i = 0; i < 5; i++) {
          const params = (client + i) % 2 === 0 ? ZHANG : { ...ZHANG, Name: "李四", VerifyMode: "1" };
          const res = await callTc3(servers[(client + i) % 3]!.port, key, params);
          assert.ok(["0", "-4"].includes(res.json.Response.Result as string), JSON.stringify(res.json.Response));
          if (res.headers["x-sanyao-billable"] === "1") charged++;
        }
      }),
    );
    assert.equal(charged, 300);
    const usage = await cli("usage", "--account", key.accountId);
    const afterShow = await cli("accounts", "show", key.accountId);
    assert.equal(usage.totals.charged - usageBefore.totals.charged, charged);
    assert.equal(fen(before.balance) - fen(afterShow.balance), fen(usage.totals.amount) - fen(usageBefore.totals.amount));
    assert.equal(fen(before.balance) - fen(afterShow.balance), 150 * 30 + 150 * 50);
    t.diagnostic(
      `charged answers ${charged}, ledger rows ${usage.totals.charged - usageBefore.totals.charged}, balance change ${(fen(before.balance) - fen(afterShow.balance)) / 100}`,
    );
  });
});

describe("engines going away and coming back", { skip }, () => {
  const env = scaleOutEnv();
  const pg = new TcpProxy(5432);
  const redis = new TcpProxy(6379);
  let server: ServeProcess;
  let key: Key & { accountId: string };

  before(async () => {
    await ensureServices();
    const pgPort = await pg.start();
    const redisPort = await redis.start();
    env.SANYAO_DATABASE_URL = env.SANYAO_DATABASE_URL!.replace(":5432/", `:${pgPort}/`);
    env.SANYAO_REDIS_URL = env.SANYAO_REDIS_URL!.replace(":6379", `:${redisPort}`);
    server = await serveProcess([], env);
    const cli = async (...args: string[]) => JSON.parse((await sanyao([...args, "--json"], env)).stdout);
    const account = await cli("accounts", "create", "--name", "failover");
    key = { accountId: account.accountId, ...(await cli("keys", "create", "--account", account.accountId)) };
    await cli("accounts", "set", account.accountId, "--daily-cap", "0", "--rate-limit", "100000");
  });
  after(async () => {
    await server.stop();
    await pg.start().catch(() => undefined);
    await redis.start().catch(() => undefined);
    await dropScaleOut({ ...env, SANYAO_DATABASE_URL: "" });
    await pg.stop();
    await redis.stop();
  });

  /** Sends `count` requests from 5 concurrent clients; every answer must be a clean envelope within 5 s. */
  async function load(count: number): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    let next = 0;
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        while (next++ < count) {
          const started = Date.now();
          const res = await callTc3(server.port, key, { ...ZHANG, Phone: "13900009999" });
          assert.equal(res.status, 200);
          assert.ok(Date.now() - started < 5000, "answered within the time budget");
          const code = (res.json.Response.Result as string | undefined) ?? res.json.Response.Error!.Code;
          seen[code] = (seen[code] ?? 0) + 1;
        }
      }),
    );
    return seen;
  }

  for (const [name, proxy] of [
    ["Redis", redis],
    ["PostgreSQL", pg],
  ] as const) {
    it(`${name} stopped during load: -11 and an unready probe, no crash; back: traffic and readiness recover`, async (t) => {
      assert.deepEqual(await load(20), { "-9": 20 });
      assert.equal((await get(server.port, "/readyz")).status, 200);

      const during = load(60);
      await new Promise((r) => setTimeout(r, 50));
      await proxy.stop();
      const seen = await during;
      t.diagnostic(`answers while ${name} went away: ${JSON.stringify(seen)}`);
      assert.ok((seen["-11"] ?? 0) + (seen.ServiceUnavailable ?? 0) > 0, JSON.stringify(seen));
      // while it is away, answers stay clean: -11 for PhoneVerification (or ServiceUnavailable before it is reached)
      const away = await load(10);
      for (const code of Object.keys(away)) assert.ok(["-11", "ServiceUnavailable", "-9"].includes(code), JSON.stringify(away));
      const ready = await get(server.port, "/readyz");
      assert.equal(ready.status, 503);
      assert.equal((await get(server.port, "/healthz")).status, 200);

      await proxy.start();
      await within(10_000, async () => (await get(server.port, "/readyz")).status === 200);
      const recovered = await within(10_000, async () => JSON.stringify(await load(5)) === JSON.stringify({ "-9": 5 }));
      t.diagnostic(`traffic recovered ${recovered} ms after ${name} came back`);
    });
  }

  for (const [name, proxy, budgetMs] of [
    ["Redis", redis, 2500],
    ["PostgreSQL", pg, 6500],
  ] as const) {
    it(`${name} hanging (accepting, never answering): answers come within the time budget, then recover`, async (t) => {
      assert.deepEqual(await load(5), { "-9": 5 });
      proxy.blackhole();
      try {
        const started = Date.now();
        const res = await callTc3(server.port, key, { ...ZHANG, Phone: "13900009999" });
        const took = Date.now() - started;
        const code = (res.json.Response.Result as string | undefined) ?? res.json.Response.Error!.Code;
        assert.ok(["-11", "ServiceUnavailable"].includes(code), code);
        assert.ok(took < budgetMs, `answered in ${took} ms`);
        t.diagnostic(`${name} hanging: ${code} after ${took} ms`);
      } finally {
        proxy.release();
      }
      await within(10_000, async () => JSON.stringify(await load(5)) === JSON.stringify({ "-9": 5 }));
    });
  }

  it("/metrics counts what was sent", async () => {
    const metrics = (await get(server.port, "/metrics")).text;
    const count = (code: string) =>
      Number(new RegExp(`sanyao_requests_total\\{action="PhoneVerification",code="${code}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    const before = count("-9");
    await load(7);
    const after = (await get(server.port, "/metrics")).text;
    const now = Number(/sanyao_requests_total\{action="PhoneVerification",code="-9"\} (\d+)/.exec(after)?.[1] ?? 0);
    assert.equal(now - before, 7);
    assert.match(after, /sanyao_request_duration_seconds_bucket/);
    assert.match(after, /sanyao_source_errors_total \d+/);
    assert.ok(Number(/sanyao_source_errors_total (\d+)/.exec(after)?.[1]) > 0, "the -11 answers above were counted");
  });

  it("SIGTERM: stops accepting, lets the request in flight finish with its answer, then exits", async () => {
    assert.deepEqual(await load(3), { "-9": 3 });
    pg.blackhole(); // the next request waits on PostgreSQL
    const inFlight = callTc3(server.port, key, { ...ZHANG, Phone: "13900009999" });
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((resolve) => server.child.once("exit", (code) => resolve(code)));
    server.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(callTc3(server.port, key, ZHANG), "new connections are refused while it drains");
    pg.release();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.ok(["-9", "-11"].includes(res.json.Response.Result as string), JSON.stringify(res.json.Response));
    assert.equal(await exited, 0);
  });
});
