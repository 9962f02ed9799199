/**
 * Gateway mode: a second sanyao installation plays the upstream, with its own records, ledger and scenarios. Teams
 * call the gateway with their own keys through the official SDK; the gateway signs again with the company key.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { RESULT_TABLES } from "../src/faceid/results";
import { ANSWER_FIELDS } from "../src/faceid/scripted";
import type { FaceIdAction } from "../src/faceid/tariff";
import { chinaDate } from "../src/rules/precheck";
import { callTc3, verify } from "./helpers/call";
import { BIN, within } from "./helpers/cli";
import { faceidSdk } from "./helpers/sdk";
import { BACKENDS, describeBackends, type TestServer, startTestServer } from "./helpers/server";

const TOKEN = "upstream-operator-token-0001";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const PARAMS: Record<FaceIdAction, Record<string, string>> = {
  PhoneVerification: ALICE,
  PhoneVerificationCMCC: ALICE,
  PhoneVerificationCTCC: ALICE,
  PhoneVerificationCUCC: ALICE,
  EncryptedPhoneVerification: { ...ALICE, EncryptionMode: "0" },
  CheckPhoneAndName: { Mobile: ALICE.Phone, Name: ALICE.Name },
  IdCardVerification: { IdCard: ALICE.IdCard, Name: ALICE.Name },
  MobileStatus: { Mobile: ALICE.Phone },
  MobileNetworkTimeVerification: { Mobile: ALICE.Phone },
};

async function ops(server: TestServer, method: string, route: string, body?: unknown) {
  const res = await fetch(`${server.url}/_sanyao/${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${method} ${route}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * The servers' clocks, standing still and moved a second at a time by the test, all together: each step is one
 * window of every per-second limit, however long the machine takes to answer the calls in it. It starts at a whole
 * second near the real time, so the signatures the clients make with their own clocks stay valid.
 */
function sharedClock(servers: TestServer[]) {
  let now = Math.floor(Date.now() / 1000) * 1000;
  const set = (ms: number | undefined) => {
    for (const s of servers) s.setNow(ms);
  };
  set(now);
  return {
    next(): void {
      now += 1000;
      set(now);
    },
    release: () => set(undefined),
  };
}

/** Answers counted by the window of the shared clock they were admitted in, per caller. */
class WindowCounts {
  readonly windows: number[][] = [];
  private current = 0;

  constructor(private readonly callers: number) {}

  answered(caller: number): void {
    const row = this.windows[this.current] ?? new Array<number>(this.callers).fill(0);
    row[caller] = (row[caller] ?? 0) + 1;
    this.windows[this.current] = row;
  }

  /** Waits until `n` calls of the current window are answered, then moves the clock on to the next. */
  async close(n: number, clock: { next(): void }): Promise<void> {
    await within(30_000, async () => (this.windows[this.current] ?? []).reduce((a, b) => a + b, 0) >= n);
    this.current++;
    clock.next();
  }
}

/** Upstream calls by the second of the upstream's clock they were logged at, in order. */
async function upstreamPerSecond(upstream: TestServer): Promise<number[]> {
  const { requests } = (await ops(upstream, "GET", "requests?limit=1000")) as { requests: Array<{ at: string; error?: string }> };
  const perSecond = new Map<number, number>();
  for (const r of requests) {
    const second = Math.floor(Date.parse(r.at) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  return [...perSecond.entries()].sort(([a], [b]) => a - b).map(([, n]) => n);
}

/** `sanyao upstream set` on the gateway: the upstream's URL, the company key, and the upstream's own public keys. */
async function pointAt(
  gateway: TestServer,
  upstream: TestServer,
  company: { secretId: string; secretKey: string },
  secretKey = company.secretKey,
) {
  const keys = JSON.parse((await upstream.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
  return gateway.cli([
    "upstream",
    "set",
    "--secret-id",
    company.secretId,
    "--secret-key",
    secretKey,
    "--url",
    upstream.url,
    "--rsa-public-key",
    keys.rsa,
    "--sm2-public-key",
    keys.sm2,
  ]);
}

const usageOf = async (server: TestServer, accountId: string) =>
  (JSON.parse((await server.cli(["usage", "--account", accountId, "--json"])).stdout) as { totals: { charged: number } }).totals.charged;

describeBackends("gateway mode", (backend) => {
  let upstream: TestServer;
  let gateway: TestServer;
  let company: { accountId: string; secretId: string; secretKey: string };
  let team: { accountId: string; secretId: string; secretKey: string };
  const setUpstream = (secretKey: string) => pointAt(gateway, upstream, company, secretKey);
  before(async () => {
    upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    gateway = await startTestServer({ SANYAO_UPSTREAM_TIMEOUT_MS: "1500", SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    team = await gateway.addAccount("team-a");
    const set = await setUpstream(company.secretKey);
    assert.equal(set.code, 0, set.stderr);
    assert.doesNotMatch(set.stdout, new RegExp(company.secretKey));
    // The gateway holds no records: an answer of 0 for Alice can only come from the upstream.
    const sdk = faceidSdk(gateway.port, team);
    for (let i = 0; i < 40 && (await sdk.PhoneVerification(ALICE)).Result !== "0"; i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it("every action and every Result of its table passes through unchanged; both ledgers count the same charges", async () => {
    const sdk = faceidSdk(gateway.port, team);
    const teamBefore = await usageOf(gateway, team.accountId);
    const companyBefore = await usageOf(upstream, company.accountId);
    let charged = 0;
    for (const [action, params] of Object.entries(PARAMS) as Array<[FaceIdAction, Record<string, string>]>) {
      for (const [result, info] of Object.entries(RESULT_TABLES[action])) {
        await ops(upstream, "POST", "scenarios", { account: company.accountId, action, result, times: 1 });
        const answer = await sdk[action]?.(params);
        assert.ok(answer, `the SDK has ${action}`);
        const { RequestId, ...fields } = answer;
        assert.equal(typeof RequestId, "string");
        // exactly the upstream's answer: its Result, the table's wording, the action's own fields, nothing else
        assert.deepEqual(fields, { Result: result, Description: info.en, ...ANSWER_FIELDS[action](result) }, `${action} ${result}`);
        if (info.charged) charged++;
      }
    }
    assert.equal(await usageOf(gateway, team.accountId), teamBefore + charged, "the team is charged what the table charges");
    assert.equal(await usageOf(upstream, company.accountId), companyBefore + charged, "the upstream charged the same calls");
    // the charged Results of the nine actions' tables (0 and -4 of the six PhoneVerification-like ones, …)
    assert.equal(charged, 18);
  });

  it("the upstream sees the company key, never the team's; the team's SDK never sees the company key", async () => {
    await ops(upstream, "DELETE", "requests");
    const answer = await faceidSdk(gateway.port, team).MobileStatus({ Mobile: ALICE.Phone });
    assert.equal(answer.Result, "0");
    const { requests } = (await ops(upstream, "GET", "requests")) as { requests: Array<{ secretId: string }> };
    assert.deepEqual(
      requests.map((r) => r.secretId),
      [company.secretId],
    );
    assert.doesNotMatch(JSON.stringify(answer), new RegExp(`${company.secretId}|${company.secretKey}`));
    const shown = await gateway.cli(["upstream", "show", "--json"]);
    assert.doesNotMatch(shown.stdout, new RegExp(company.secretKey));
    assert.match(shown.stdout, new RegExp(company.secretId));
  });

  it("fields travel upstream encrypted to the upstream's keys; a team's SM4 fields are opened and sealed again", async () => {
    const { encryptRequestFields } = await import("../src/client/field-encryption");
    const gatewayKeys = JSON.parse((await gateway.cli(["encryption", "public-keys", "--json"])).stdout) as { sm2: string };
    await ops(upstream, "DELETE", "requests");
    const sdk = faceidSdk(gateway.port, team);
    assert.equal((await sdk.PhoneVerification({ ...ALICE, VerifyMode: "1" })).Result, "0");
    const sealed = encryptRequestFields({ Mobile: ALICE.Phone, Name: ALICE.Name }, { algorithm: "SM4-GCM", publicKey: gatewayKeys.sm2 }, [
      "Mobile",
      "Name",
    ]);
    assert.equal((await sdk.CheckPhoneAndName(sealed)).Result, "0");
    const { requests } = (await ops(upstream, "GET", "requests")) as {
      requests: Array<{ action: string; encrypted?: string[]; verifyMode?: string }>;
    };
    assert.deepEqual(
      requests.map((r) => [r.action, r.encrypted, r.verifyMode]),
      [
        ["PhoneVerification", ["IdCard", "Name", "Phone"], "1"],
        ["CheckPhoneAndName", ["Mobile", "Name"], undefined],
      ],
    );
  });

  it("upstream failures: an error envelope and a reset answer the busy code, uncharged; a hang is listed as unknown", async () => {
    const sdk = faceidSdk(gateway.port, team);
    const before = await usageOf(gateway, team.accountId);
    await ops(upstream, "POST", "scenarios", { account: company.accountId, error: "InternalError", times: 1 });
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "-11");
    await ops(upstream, "POST", "scenarios", { account: company.accountId, action: "CheckPhoneAndName", error: "InternalError", times: 1 });
    assert.equal((await sdk.CheckPhoneAndName({ Mobile: ALICE.Phone, Name: ALICE.Name })).Result, "-3", "CheckPhoneAndName's busy code");
    await ops(upstream, "POST", "scenarios", { account: company.accountId, reset: true, times: 1 });
    const reset = await sdk.PhoneVerification(ALICE);
    assert.equal(reset.Result, "-11", "a reset connection");
    await ops(upstream, "POST", "scenarios", { account: company.accountId, hang: true, times: 1 });
    const hung = await sdk.PhoneVerification(ALICE);
    assert.equal(hung.Result, "-11", "no answer within the budget");
    const unknown = JSON.parse((await gateway.cli(["usage", "--unknown", "--json"])).stdout) as {
      unknown: Array<{ requestId: string; action: string }>;
    };
    // Both were sent and never answered: the upstream may have charged them.
    assert.deepEqual(
      unknown.unknown.slice(-2).map((u) => [u.requestId, u.action]),
      [
        [reset.RequestId, "PhoneVerification"],
        [hung.RequestId, "PhoneVerification"],
      ],
    );
    assert.equal(await usageOf(gateway, team.accountId), before, "nothing charged to the team");
  });

  it("an upstream RequestLimitExceeded is retried within the budget, not passed on", async () => {
    await ops(upstream, "POST", "scenarios", { account: company.accountId, error: "RequestLimitExceeded", times: 2 });
    assert.equal((await faceidSdk(gateway.port, team).PhoneVerification(ALICE)).Result, "0");
  });

  it("upstream set --secret-key - reads the key from stdin; an empty stdin is refused", async () => {
    const keys = JSON.parse((await upstream.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
    const set = (input: string) =>
      spawnSync(
        process.execPath,
        [BIN, "upstream", "set", "--secret-id", company.secretId, "--secret-key", "-", "--url", upstream.url]
          .concat(["--rsa-public-key", keys.rsa, "--sm2-public-key", keys.sm2])
          .concat(gateway.backend === "scale-out" ? [] : ["--data", gateway.dataDir]),
        { env: { ...process.env, ...gateway.env }, input, encoding: "utf8" },
      );
    const empty = set("");
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /--secret-key -: nothing came on stdin/);
    const piped = set(`${company.secretKey}\n`);
    assert.equal(piped.status, 0, piped.stderr);
    assert.doesNotMatch(piped.stdout + piped.stderr, new RegExp(company.secretKey));
    // The key as piped, without its line end, signs the calls: the upstream still answers.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await faceidSdk(gateway.port, team).MobileStatus({ Mobile: ALICE.Phone })).Result, "0");
  });

  it("a refused company key answers ServiceUnavailable and /readyz says so, without the key", async () => {
    const wrongKey = `${company.secretKey.slice(0, -4)}XXXX`;
    await setUpstream(wrongKey);
    try {
      let code: string | undefined;
      for (let i = 0; i < 40 && code !== "ServiceUnavailable"; i++) {
        code = await faceidSdk(gateway.port, team)
          .PhoneVerification(ALICE)
          .then(
            () => undefined,
            (err: { code: string }) => err.code,
          );
        if (code !== "ServiceUnavailable") await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(code, "ServiceUnavailable");
      // why is for the operator token (anonymous callers learn only that it is not ready)
      const ready = await fetch(`${gateway.url}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const text = await ready.text();
      assert.equal(ready.status, 503);
      assert.match(text, /refused the company key \(AuthFailure\.SignatureFailure\)/);
      assert.doesNotMatch(text + gateway.logs.join("\n"), new RegExp(wrongKey));
    } finally {
      await setUpstream(company.secretKey);
      // The gateway reads the upstream settings again within a second.
      for (let i = 0; i < 40; i++) {
        const ok = await faceidSdk(gateway.port, team)
          .MobileStatus({ Mobile: ALICE.Phone })
          .then(
            () => true,
            () => false,
          );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  it("a monthly budget reached mid-burst: the calls past it are refused before the upstream, never a fen over", async () => {
    const budgeted = await gateway.addAccount("team-budget");
    // MobileStatus costs 0.10: room for five calls and a half.
    assert.equal((await gateway.cli(["accounts", "set", budgeted.accountId, "--monthly-budget", "0.55"])).code, 0);
    const sdk = faceidSdk(gateway.port, budgeted);
    // An uncharged answer gives back what was set aside for it.
    await ops(upstream, "POST", "scenarios", { account: company.accountId, action: "MobileStatus", result: "-1", times: 1 });
    assert.equal((await sdk.MobileStatus({ Mobile: ALICE.Phone })).Result, "-1");
    await ops(upstream, "DELETE", "requests");
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () =>
        sdk.MobileStatus({ Mobile: ALICE.Phone }).then(
          (a) => a.Result as string,
          (err: { code: string }) => err.code,
        ),
      ),
    );
    assert.equal(outcomes.filter((o) => o === "0").length, 5, outcomes.join(" "));
    assert.equal(outcomes.filter((o) => o === "UnauthorizedOperation.Arrears").length, 7);
    const spent = JSON.parse((await gateway.cli(["usage", "--account", budgeted.accountId, "--json"])).stdout) as {
      totals: { amount: string };
    };
    assert.equal(spent.totals.amount, "0.50");
    assert.equal(
      ((await ops(upstream, "GET", "requests")).requests as unknown[]).length,
      5,
      "the refused calls never reached the upstream",
    );
  });

  it("a team's daily cap per number is its own: another team's calls do not use it up", async () => {
    const capped = await gateway.addAccount("team-capped");
    assert.equal((await gateway.cli(["accounts", "set", capped.accountId, "--daily-cap", "1"])).code, 0);
    const mobile = { Mobile: "13900005678" };
    assert.equal((await faceidSdk(gateway.port, team).MobileStatus(mobile)).Result, "0");
    assert.equal((await faceidSdk(gateway.port, capped).MobileStatus(mobile)).Result, "0");
    const second = await faceidSdk(gateway.port, capped).MobileStatus(mobile);
    assert.deepEqual([second.Result, second.StatusCode], ["-4", 99], "MobileStatus's daily-cap code, answered by the gateway");
    // The same number written another way (full-width digits, a +86 prefix) is the same number to the cap.
    for (const Mobile of ["１３９００００５６７８", "+86 139-0000-5678"]) {
      assert.equal((await faceidSdk(gateway.port, capped).MobileStatus({ Mobile })).Result, "-4", Mobile);
    }
    assert.equal((await faceidSdk(gateway.port, team).MobileStatus(mobile)).Result, "0", "the other team is not capped");
  });

  it("a test key never reaches the upstream: it answers from the fixtures", async () => {
    const made = JSON.parse((await gateway.cli(["keys", "create", "--account", team.accountId, "--test", "--json"])).stdout) as {
      secretId: string;
      secretKey: string;
    };
    await ops(upstream, "DELETE", "requests");
    assert.equal((await faceidSdk(gateway.port, made).PhoneVerification(ALICE)).Result, "0");
    assert.deepEqual((await ops(upstream, "GET", "requests")).requests, []);
  });

  it("no raw value and no company SecretKey in the gateway's store or logs", async () => {
    const logs = gateway.logs.join("\n");
    const stored = await gateway.storedData();
    for (const value of [company.secretKey, ALICE.Phone, ALICE.IdCard, ALICE.Name]) {
      assert.equal(stored.includes(Buffer.from(value)), false, "found in the store");
      assert.equal(logs.includes(value), false, "found in the logs");
    }
  });
});

describeBackends("gateway mode: one upstream limit, shared fairly", (backend) => {
  let upstream: TestServer;
  let gateway: TestServer;
  let company: { accountId: string; secretId: string; secretKey: string };
  let clock: ReturnType<typeof sharedClock>;
  const teams: Array<{ accountId: string; secretId: string; secretKey: string }> = [];
  before(async () => {
    upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    // The upstream account takes 20 calls a second per action; the gateway keeps two of them in hand.
    assert.equal((await upstream.cli(["accounts", "set", company.accountId, "--rate-limit", "20"])).code, 0);
    gateway = await startTestServer({ SANYAO_UPSTREAM_RATE_LIMIT: "18", SANYAO_UPSTREAM_TIMEOUT_MS: "8000" }, backend);
    clock = sharedClock([gateway, upstream]);
    for (const name of ["a", "b", "c"]) teams.push(await gateway.addAccount(`team-${name}`));
    await pointAt(gateway, upstream, company);
    // Each team calls once (it is then one of the teams sharing the limit), and gateway mode is on.
    for (const t of teams) {
      const sdk = faceidSdk(gateway.port, t);
      for (let i = 0; i < 40 && (await sdk.MobileStatus({ Mobile: ALICE.Phone })).Result !== "0"; i++)
        await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    clock.release();
    await gateway.close();
    await upstream.close();
  });

  it("three teams bursting together: the limit each second upstream, each team exactly its share, no upstream refusal", async (t) => {
    await ops(upstream, "DELETE", "requests");
    clock.next(); // a second of its own: the warm-up calls took slots of the last one
    const counts = new WindowCounts(teams.length);
    const answers = Promise.all(
      teams.flatMap((team, i) =>
        Array.from({ length: 18 }, () =>
          faceidSdk(gateway.port, team)
            .MobileStatus({ Mobile: ALICE.Phone })
            .then((a) => {
              counts.answered(i);
              return a.Result as string;
            }),
        ),
      ),
    );
    // 54 calls at 18 a second: three seconds, each team 6 of each (the calls over a share wait for the next second)
    for (let second = 0; second < 3; second++) await counts.close(18, clock);
    assert.deepEqual(new Set(await answers), new Set(["0"]), "every call answered within its budget");
    t.diagnostic(`answered per second per team: ${JSON.stringify(counts.windows)}`);
    assert.deepEqual(counts.windows, [
      [6, 6, 6],
      [6, 6, 6],
      [6, 6, 6],
    ]);
    const { requests } = (await ops(upstream, "GET", "requests?limit=1000")) as { requests: Array<{ error?: string }> };
    assert.deepEqual(
      requests.filter((r) => r.error),
      [],
      "the upstream refused nothing",
    );
    assert.deepEqual(await upstreamPerSecond(upstream), [18, 18, 18]);
  });
});

describeBackends("gateway mode: the cache of paid answers", (backend) => {
  let upstream: TestServer;
  let gateway: TestServer;
  let company: { accountId: string; secretId: string; secretKey: string };
  let team: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    gateway = await startTestServer({ SANYAO_CACHE_TTL: "60" }, backend);
    team = await gateway.addAccount("team-cache");
    await pointAt(gateway, upstream, company);
    for (
      let i = 0;
      i < 40 && (await verify(gateway.port, team, { Mobile: "13300003333" }, { action: "MobileStatus" })).Result !== "0";
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    gateway.setNow(undefined);
    await gateway.close();
    await upstream.close();
  });

  const upstreamCalls = async () => ((await ops(upstream, "GET", "requests?limit=1000")).requests as unknown[]).length;

  it("a repeat within the TTL does not reach the upstream; after the TTL it does; usage counts the cached answer apart", async () => {
    const now = Date.now();
    gateway.setNow(now);
    const call = () => callTc3(gateway.port, team, { ...ALICE, VerifyMode: "1" });
    const first = await call();
    assert.equal(first.headers["x-sanyao-cache"], "miss");
    assert.equal(first.json.Response.Result, "0");
    const before = await upstreamCalls();
    const again = await call();
    assert.equal(again.headers["x-sanyao-cache"], "hit");
    assert.deepEqual({ ...again.json.Response, RequestId: "" }, { ...first.json.Response, RequestId: "" });
    assert.equal(await upstreamCalls(), before, "the upstream was not asked");
    // Another mode is another answer.
    assert.equal((await callTc3(gateway.port, team, ALICE)).headers["x-sanyao-cache"], "miss");
    gateway.setNow(now + 61_000);
    assert.equal((await call()).headers["x-sanyao-cache"], "miss", "past the TTL");
    assert.equal(await upstreamCalls(), before + 2);
    const usage = JSON.parse((await gateway.cli(["usage", "--account", team.accountId, "--json"])).stdout) as {
      totals: { cached: number; charged: number };
    };
    assert.equal(usage.totals.cached, 1);
    assert.equal(usage.totals.charged, 4, "the warm-up, the first call, the other mode, the call past the TTL");
  });

  it("an uncharged answer is never kept", async () => {
    await ops(upstream, "POST", "scenarios", { account: company.accountId, action: "MobileStatus", result: "-3", times: 1 });
    const before = await upstreamCalls();
    const busy = await callTc3(gateway.port, team, { Mobile: "13900005678" }, { action: "MobileStatus" });
    assert.equal(busy.json.Response.Result, "-3");
    const next = await callTc3(gateway.port, team, { Mobile: "13900005678" }, { action: "MobileStatus" });
    assert.deepEqual([next.json.Response.Result, next.headers["x-sanyao-cache"]], ["0", "miss"]);
    assert.equal(await upstreamCalls(), before + 2);
  });
});

describe("gateway mode: two instances on PostgreSQL + Redis share the upstream limit and the budgets", {
  skip: !BACKENDS.includes("scale-out"),
}, () => {
  let upstream: TestServer;
  const gateways: TestServer[] = [];
  let company: { accountId: string; secretId: string; secretKey: string };
  let team: { accountId: string; secretId: string; secretKey: string };
  let clock: ReturnType<typeof sharedClock>;
  const gateway = (i: number) => {
    const g = gateways[i % 2];
    assert.ok(g, "two gateway instances");
    return g;
  };
  before(async () => {
    upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, "sqlite");
    company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    const first = await startTestServer({ SANYAO_UPSTREAM_RATE_LIMIT: "10", SANYAO_UPSTREAM_TIMEOUT_MS: "8000" }, "scale-out");
    gateways.push(first);
    // The second instance: the same database, Redis and secret.
    gateways.push(await startTestServer({ ...first.env }, "scale-out"));
    clock = sharedClock([...gateways, upstream]);
    team = await first.addAccount("team-shared");
    await pointAt(first, upstream, company);
    for (const g of gateways) {
      for (let i = 0; i < 40 && (await verify(g.port, team, { Mobile: "13300003333" }, { action: "MobileStatus" })).Result !== "0"; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  after(async () => {
    clock.release();
    await gateways[1]?.close();
    await gateways[0]?.close();
    await upstream.close();
  });

  it("a team that bursts first on one instance leaves the other team, on the other instance, exactly its share", async (t) => {
    // Both teams have called (each through its own instance), so each instance counts two teams sharing 10 (an
    // action of their own: the teams of the other tests are not among them).
    const left = await gateway(0).addAccount("team-left");
    const right = await gateway(0).addAccount("team-right");
    for (const [g, member] of [
      [gateway(0), left],
      [gateway(1), right],
    ] as const) {
      for (
        let i = 0;
        i < 40 && (await verify(g.port, member, { Mobile: ALICE.Phone }, { action: "MobileNetworkTimeVerification" })).Result !== "0";
        i++
      )
        await new Promise((r) => setTimeout(r, 50));
    }
    clock.next();
    const counts = new WindowCounts(2);
    const burst = (g: TestServer, member: typeof left, side: number, n: number) =>
      Array.from({ length: n }, () =>
        faceidSdk(g.port, member)
          .MobileNetworkTimeVerification({ Mobile: ALICE.Phone })
          .then(() => counts.answered(side)),
      );
    const leftCalls = burst(gateway(0), left, 0, 20);
    // The left team's burst is in first: its share of this second is answered before the right team calls.
    await within(30_000, async () => (counts.windows[0]?.[0] ?? 0) >= 5);
    const rightCalls = burst(gateway(1), right, 1, 10);
    for (const n of [10, 10, 5, 5]) await counts.close(n, clock);
    await Promise.all([...leftCalls, ...rightCalls]);
    t.diagnostic(`answered per second [left, right] at a limit of 10: ${JSON.stringify(counts.windows)}`);
    assert.deepEqual(counts.windows, [
      [5, 5],
      [5, 5],
      [5, 0],
      [5, 0],
    ]);
  });

  it("a burst over both instances: the upstream sees exactly its limit a second; a budget is spent exactly once", async (t) => {
    await ops(upstream, "DELETE", "requests");
    clock.next();
    const counts = new WindowCounts(1);
    const answers = Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        faceidSdk(gateway(i).port, team)
          .MobileStatus({ Mobile: ALICE.Phone })
          .then((a) => {
            counts.answered(0);
            return a.Result;
          }),
      ),
    );
    for (let second = 0; second < 3; second++) await counts.close(10, clock);
    assert.deepEqual(new Set(await answers), new Set(["0"]));
    const perSecond = await upstreamPerSecond(upstream);
    t.diagnostic(`upstream calls per second from two instances at a limit of 10: ${perSecond.join(", ")}`);
    assert.deepEqual(perSecond, [10, 10, 10]);

    const budgeted = await gateway(0).addAccount("team-budget-shared");
    assert.equal((await gateway(0).cli(["accounts", "set", budgeted.accountId, "--monthly-budget", "0.55"])).code, 0);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        faceidSdk(gateway(i).port, budgeted)
          .MobileStatus({ Mobile: ALICE.Phone })
          .then(
            (a) => a.Result as string,
            (err: { code: string }) => err.code,
          ),
      ),
    );
    assert.equal(outcomes.filter((o) => o === "0").length, 5, outcomes.join(" "));
    assert.equal(outcomes.filter((o) => o === "UnauthorizedOperation.Arrears").length, 7, outcomes.join(" "));
    const spent = JSON.parse((await gateway(1).cli(["usage", "--account", budgeted.accountId, "--json"])).stdout) as {
      totals: { amount: string };
    };
    assert.equal(spent.totals.amount, "0.50");
  });
});
