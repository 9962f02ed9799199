/**
 * The management routes of the operations API on both backends, as the console will use them: accounts (search,
 * paging, changes that a running server applies, top-ups with a note), keys (the SecretKey shown once, disabled and
 * enabled), the ledger (paged, filtered, CSV), usage, records counted, gateway mode's status — clear 400s for bad
 * input, the read-only token refused every change, and no personal value in any answer.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { saveUpstream } from "../src/gateway/upstream-settings";
import { chinaDate } from "../src/rules/precheck";
import { within } from "./helpers/cli";
import { faceidSdk } from "./helpers/sdk";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const TOKEN = "admin-routes-operator-token-0";
const READ_TOKEN = "admin-routes-read-only-token0";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

type Json = Record<string, unknown> & { error?: string };

/** China-time day of a moment, YYYY-MM-DD. */
const chinaDay = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);

describeBackends("operations API: management routes", (backend) => {
  let server: TestServer;
  /** every JSON answer of this suite, scanned for personal values at the end */
  const answers: string[] = [];
  const api = async (method: string, route: string, body?: unknown, token = TOKEN) => {
    const res = await fetch(`${server.url}/_sanyao/${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    answers.push(text);
    return {
      status: res.status,
      body: (res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : {}) as Json,
      text,
    };
  };
  const ok = async (method: string, route: string, body?: unknown) => {
    const res = await api(method, route, body);
    assert.ok(res.status < 300, `${method} ${route}: ${res.status} ${res.text}`);
    return res.body;
  };

  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_READ_ONLY_TOKEN: READ_TOKEN }, backend);
    await server.addRecords(demoRecords(chinaDate(Date.now())));
  });
  after(() => server.close());

  it("accounts: created, found by a part of the name in any case, a page at a time with the total", async () => {
    const tag = randomUUID().slice(0, 8);
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { account } = (await ok("POST", "accounts", { name: `Team ${tag} #${i}` })) as { account: Json };
      assert.equal(account.balance, "1000.00", "the balance in CNY, as the CLI shows it");
      made.push(String(account.accountId));
    }
    const page = (await ok("GET", `accounts?search=team%20${tag.toUpperCase()}&offset=1&limit=2`)) as {
      accounts: Json[];
      total: number;
      offset: number;
      limit: number;
    };
    // Oldest first (two made in one millisecond in either order): the page is the listing's second and third.
    const whole = (await ok("GET", `accounts?search=team%20${tag}`)) as { accounts: Json[] };
    assert.deepEqual(whole.accounts.map((a) => a.accountId).sort(), [...made].sort());
    assert.deepEqual([page.accounts, page.total, page.offset, page.limit], [whole.accounts.slice(1, 3), 5, 1, 2]);
    assert.equal(((await ok("GET", `accounts?search=${made[4]}`)) as { total: number }).total, 1, "by id too");
    assert.equal(((await ok("GET", "accounts?search=%25")) as { total: number }).total, 0, "% is a character, not a wildcard");
    assert.equal(((await ok("GET", `accounts/${made[0]}`)) as { account: Json }).account.name, `Team ${tag} #0`);
    const missing = await api("GET", "accounts/100000000000");
    assert.deepEqual([missing.status, missing.body.error], [404, "No account 100000000000."]);
  });

  it("bad input is a 400 that names the field and what it wants, and changes nothing", async () => {
    const key = await server.addAccount("bad input");
    const cases: Array<[string, string, unknown, RegExp]> = [
      ["GET", "accounts?limit=0", undefined, /^limit is a whole number from 1 to 1000\.$/],
      ["GET", "accounts?lmit=5", undefined, /^No query parameter "lmit" here \(parameters: search, offset, limit\)\.$/],
      ["POST", "accounts", { name: "x", balance: 5 }, /^The body has no field "balance" \(fields: name\)\.$/],
      ["POST", "accounts", { name: "   " }, /^The name must not be empty\.$/],
      ["POST", "accounts", { name: "x".repeat(201) }, /^name has at most 200 characters\.$/],
      ["PATCH", `accounts/${key.accountId}`, { rateLimit: 0 }, /^rateLimit is a whole number from 1 to 1000000\.$/],
      ["PATCH", `accounts/${key.accountId}`, { rateLimits: { Nope: 3 } }, /^rateLimits: "Nope" is not a FaceID or Cloudauth action/],
      ["PATCH", `accounts/${key.accountId}`, { billing: "late" }, /^billing is one of: ok, abnormal\.$/],
      ["PATCH", `accounts/${key.accountId}`, { monthlyBudget: "lots" }, /^monthlyBudget is an amount in CNY/],
      ["PATCH", `accounts/${key.accountId}`, {}, /^Nothing to change: give at least one field\.$/],
      ["PATCH", `accounts/${key.accountId}`, [], /^The body is a JSON object\.$/],
      ["POST", `accounts/${key.accountId}/top-ups`, { amount: "0" }, /^amount is a positive amount in CNY/],
      ["POST", `accounts/${key.accountId}/top-ups`, { amount: 5 }, /^amount is a positive amount in CNY/],
      ["POST", `accounts/${key.accountId}/top-ups`, { amount: "1", note: "n".repeat(501) }, /^note has at most 500 characters\.$/],
      ["POST", `accounts/${key.accountId}/keys`, { secretId: "AKIDgivenonly0001" }, /^secretId and secretKey go together\.$/],
      [
        "GET",
        `accounts/${key.accountId}/ledger?from=2026-02-30`,
        undefined,
        /^from is a China-time day YYYY-MM-DD\.$|2026-02-30 is not a day/,
      ],
      ["GET", "usage?from=2026-12-02&to=2026-12-01", undefined, /^from is a day on or before to\.$/],
      ["GET", `accounts/${key.accountId}/ledger?format=xml`, undefined, /^format is csv or json\.$/],
    ];
    for (const [method, route, body, message] of cases) {
      const res = await api(method, route, body);
      assert.equal(res.status, 400, `${method} ${route}: ${res.text}`);
      assert.match(String(res.body.error), message, `${method} ${route}`);
    }
    const { account } = (await ok("GET", `accounts/${key.accountId}`)) as { account: Json };
    assert.deepEqual([account.rateLimit, account.billing, account.balance], [1_000_000, "ok", "1000.00"], "nothing changed");
  });

  it("a change reaches calls at once: deactivated, the SDK is refused; activated again, it answers", async () => {
    const key = await server.addAccount("states");
    const sdk = faceidSdk(server.port, key);
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "0");
    const changed = (await ok("PATCH", `accounts/${key.accountId}`, {
      activated: false,
      rateLimits: { MobileStatus: 7 },
      dailyCap: 500,
      monthlyBudget: "12.5",
    })) as { account: Json };
    assert.deepEqual(
      [changed.account.activated, changed.account.rateLimits, changed.account.dailyCap, changed.account.monthlyBudget],
      [false, { MobileStatus: 7 }, 500, "12.50"],
    );
    await within(2000, () =>
      sdk.PhoneVerification(ALICE).then(
        () => false,
        (err: { code?: string }) => err.code === "UnauthorizedOperation.Nonactivated",
      ),
    );
    await ok("PATCH", `accounts/${key.accountId}`, { activated: true, rateLimits: {} });
    await within(2000, () =>
      sdk.PhoneVerification(ALICE).then(
        (r: { Result: string }) => r.Result === "0",
        () => false,
      ),
    );
    assert.deepEqual(((await ok("GET", `accounts/${key.accountId}`)) as { account: Json }).account.rateLimits, {});
  });

  it("top-ups: the balance moves and each is listed with its note, newest first", async () => {
    const key = await server.addAccount("top-ups");
    const first = (await ok("POST", `accounts/${key.accountId}/top-ups`, { amount: "100", note: "invoice 2026-001" })) as Json & {
      topUp: Json;
    };
    assert.deepEqual([first.balance, first.topUp.amount, first.topUp.note], ["1100.00", "100.00", "invoice 2026-001"]);
    await ok("POST", `accounts/${key.accountId}/top-ups`, { amount: "0.05" });
    const listed = (await ok("GET", `accounts/${key.accountId}/top-ups?limit=1`)) as { topUps: Json[]; total: number };
    assert.deepEqual([listed.topUps.map((t) => [t.amount, t.note]), listed.total], [[["0.05", ""]], 2]);
    assert.equal(((await ok("GET", `accounts/${key.accountId}`)) as { account: Json }).account.balance, "1100.05");
    assert.equal((await api("POST", "accounts/100000000000/top-ups", { amount: "1" })).status, 404);
  });

  it("keys: the SecretKey once, never listed; a disabled key is refused, enabled again it answers; a taken SecretId is 409", async () => {
    const owner = await server.addAccount("keys");
    const { key } = (await ok("POST", `accounts/${owner.accountId}/keys`, {})) as { key: { secretId: string; secretKey: string } };
    assert.match(key.secretKey, /^[A-Za-z0-9]{32}$/);
    const listed = await api("GET", `accounts/${owner.accountId}/keys`);
    assert.ok(!listed.text.includes(key.secretKey), "the SecretKey is never listed");
    assert.deepEqual(
      (listed.body.keys as Json[]).map((k) => [k.secretId, k.enabled, k.test]).sort(),
      [
        [owner.secretId, true, false],
        [key.secretId, true, false],
      ].sort(),
    );
    const sdk = faceidSdk(server.port, key);
    await within(2000, () =>
      sdk.PhoneVerification(ALICE).then(
        (r: { Result: string }) => r.Result === "0",
        () => false,
      ),
    );
    assert.deepEqual(await ok("PATCH", `keys/${key.secretId}`, { enabled: false }), { secretId: key.secretId, enabled: false });
    await within(2000, () =>
      sdk.PhoneVerification(ALICE).then(
        () => false,
        (err: { code?: string }) => err.code === "AuthFailure.SecretIdNotFound",
      ),
    );
    await ok("PATCH", `keys/${key.secretId}`, { enabled: true });
    await within(2000, () =>
      sdk.PhoneVerification(ALICE).then(
        (r: { Result: string }) => r.Result === "0",
        () => false,
      ),
    );
    const fixed = { secretId: `AKIDfixed${randomUUID().slice(0, 8)}`, secretKey: "a-fixed-secret-key-for-ci-0001" };
    assert.equal((await api("POST", `accounts/${owner.accountId}/keys`, fixed)).status, 201);
    const again = await api("POST", `accounts/${owner.accountId}/keys`, fixed);
    assert.deepEqual([again.status, again.body.error], [409, "That SecretId exists already."]);
    const test = (await ok("POST", `accounts/${owner.accountId}/keys`, { test: true })) as { key: Json };
    assert.equal(test.key.test, true);
    assert.equal((await api("PATCH", "keys/AKIDnosuchkey0000", { enabled: true })).status, 404);
  });

  it("the ledger: newest first a page at a time, by day and action, the test ledger apart; CSV holds every row", async () => {
    const key = await server.addAccount("ledger");
    const now = Date.now();
    const twoDaysBackNoon = Date.parse(`${chinaDay(now - 2 * 86_400_000)}T12:00:00+08:00`);
    const charges = [];
    for (let i = 0; i < 120; i++) {
      charges.push({
        requestId: `ledger-${String(i).padStart(3, "0")}-${randomUUID()}`,
        accountId: key.accountId,
        secretId: key.secretId,
        action: i % 3 === 0 ? "MobileStatus" : "PhoneVerification",
        mode: "simple" as const,
        unitPrice: 30,
        // one a minute back from now; the last twenty at noon, China time, two days back
        at: i < 100 ? now - i * 60_000 : twoDaysBackNoon - i,
      });
    }
    for (const c of charges) await server.installation.store.ledger.charge(c);
    await server.installation.store.ledger.charge({ ...charges[0]!, requestId: randomUUID(), test: true });
    const page = (await ok("GET", `accounts/${key.accountId}/ledger?limit=10&offset=5`)) as { entries: Json[]; total: number };
    assert.equal(page.total, 120);
    assert.deepEqual(
      page.entries.map((e) => e.requestId),
      charges.slice(5, 15).map((c) => c.requestId),
    );
    assert.deepEqual(Object.keys(page.entries[0]!).sort(), ["action", "amount", "at", "day", "mode", "requestId", "secretId", "test"]);
    assert.equal(page.entries[0]?.amount, "0.30");
    const today = chinaDay(now);
    const firstOfTheHundred = chinaDay(now - 99 * 60_000);
    const byDay = (await ok("GET", `accounts/${key.accountId}/ledger?from=${firstOfTheHundred}&to=${today}&limit=1`)) as { total: number };
    assert.equal(byDay.total, 100, "the last hundred: today's (and yesterday's, just after midnight in China)");
    const twoDaysBack = chinaDay(now - 2 * 86_400_000);
    const old = (await ok("GET", `accounts/${key.accountId}/ledger?from=${twoDaysBack}&to=${twoDaysBack}`)) as { total: number };
    assert.equal(old.total, 20);
    const mobile = (await ok("GET", `accounts/${key.accountId}/ledger?action=MobileStatus&limit=1000`)) as {
      entries: Json[];
      total: number;
    };
    assert.equal(mobile.total, 40);
    assert.ok(mobile.entries.every((e) => e.action === "MobileStatus"));
    assert.equal(((await ok("GET", `accounts/${key.accountId}/ledger?test=true`)) as { total: number }).total, 1);

    const csv = await fetch(`${server.url}/_sanyao/accounts/${key.accountId}/ledger?format=csv&limit=3`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    assert.equal(csv.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.match(csv.headers.get("content-disposition") ?? "", /attachment; filename="ledger-\d+\.csv"/);
    const lines = (await csv.text()).trim().split("\n");
    assert.equal(lines[0], "at,day,requestId,secretId,action,mode,amount,test,upstreamRequestId");
    assert.equal(lines.length, 121, "every entry, paging aside");
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(",")[2]),
      charges.map((c) => c.requestId),
    );
    const accepted = await fetch(`${server.url}/_sanyao/accounts/${key.accountId}/ledger?action=MobileStatus`, {
      headers: { authorization: `Bearer ${TOKEN}`, accept: "text/csv" },
    });
    assert.equal((await accepted.text()).trim().split("\n").length, 41, "CSV by Accept too");
    assert.equal((await api("GET", "accounts/100000000000/ledger")).status, 404);
  });

  it("usage: calls, charges and amounts per day, action and mode with their totals; CSV too", async () => {
    const key = await server.addAccount("usage");
    const sdk = faceidSdk(server.port, key);
    for (let i = 0; i < 3; i++) assert.equal((await sdk.PhoneVerification(ALICE)).Result, "0");
    await sdk.MobileStatus({ Mobile: ALICE.Phone });
    const report = (await ok("GET", `usage?account=${key.accountId}`)) as { rows: Json[]; totals: Json };
    const day = chinaDay(Date.now());
    const phone = report.rows.find((r) => r.action === "PhoneVerification");
    assert.deepEqual(phone, {
      accountId: key.accountId,
      day,
      action: "PhoneVerification",
      mode: "simple",
      calls: 3,
      charged: 3,
      amount: phone?.amount,
      cached: 0,
      refused: 0,
    });
    assert.equal(report.totals.calls, 4);
    const csv = await fetch(`${server.url}/_sanyao/usage?account=${key.accountId}&format=csv`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const lines = (await csv.text()).trim().split("\n");
    assert.equal(lines[0], "accountId,day,action,mode,calls,charged,amount,cached,refused");
    assert.equal(lines.length, report.rows.length + 1);
  });

  it("records: counted by status and carrier, never a value", async () => {
    const stats = (await ok("GET", "records/stats")) as {
      total: number;
      byStatus: Record<string, number>;
      byCarrier: Record<string, number>;
    };
    const demo = demoRecords(chinaDate(Date.now()));
    assert.equal(stats.total, demo.length);
    assert.equal(stats.byStatus.busy, demo.filter((r) => r.status === "busy").length);
    assert.equal(
      Object.values(stats.byCarrier).reduce((a, b) => a + b, 0),
      demo.length,
    );
  });

  it("gateway: off without an upstream; with one, its URL and SecretId (never the key), team spend against budget, cache, unknown calls", async () => {
    const off = (await ok("GET", "gateway")) as Json;
    assert.deepEqual([off.gateway, off.upstream], [false, null]);
    const team = await server.addAccount("gateway team");
    await ok("PATCH", `accounts/${team.accountId}`, { monthlyBudget: "100" });
    const store = server.installation.store;
    const now = Date.now();
    await store.ledger.charge({
      requestId: randomUUID(),
      accountId: team.accountId,
      secretId: team.secretId,
      action: "MobileStatus",
      mode: "simple",
      unitPrice: 1234,
      at: now,
    });
    for (const cache of ["hit", "hit", "miss"] as const) {
      store.audit.append({
        at: now,
        requestId: randomUUID(),
        accountId: team.accountId,
        secretId: team.secretId,
        action: "MobileStatus",
        code: "0",
        detail: undefined,
        latencyUs: 1,
        cache,
      });
    }
    const lost = randomUUID();
    await store.ledger.markUnknown({
      requestId: lost,
      accountId: team.accountId,
      secretId: team.secretId,
      action: "MobileStatus",
      at: now,
      reason: "timeout",
    });
    const companyKey = "the-company-secret-key-0001";
    await saveUpstream(store.meta, server.installation.keyring, {
      url: "http://127.0.0.1:9",
      secretId: "AKIDcompany00000001",
      secretKey: companyKey,
    });
    const status = await api("GET", "gateway", undefined, READ_TOKEN);
    assert.ok(!status.text.includes(companyKey), "never the company key");
    const s = status.body as Json & { upstream: Json; teams: Json[]; cache: Json; unknown: { total: number; latest: Json[] } };
    assert.deepEqual([s.gateway, s.upstream.url, s.upstream.secretId], [true, "http://127.0.0.1:9", "AKIDcompany00000001"]);
    assert.deepEqual(
      s.teams.find((t) => t.accountId === team.accountId),
      { accountId: team.accountId, name: "gateway team", monthlyBudget: "100.00", spent: "12.34", left: "87.66" },
    );
    assert.deepEqual(s.cache, { hits: 2, misses: 1 });
    assert.deepEqual([s.unknown.total, s.unknown.latest[0]?.requestId], [1, lost]);
    const unknown = (await ok("GET", `gateway/unknown?account=${team.accountId}`)) as { unknown: Json[]; total: number };
    assert.deepEqual([unknown.total, unknown.unknown[0]?.reason], [1, "timeout"]);
    await store.meta.set("upstream/v1", "");
  });

  it("the read-only token sees everything and changes nothing", async () => {
    const key = await server.addAccount("read-only");
    for (const route of [`accounts/${key.accountId}`, `accounts/${key.accountId}/keys`, "usage", "records/stats", "gateway", "scenarios"]) {
      assert.equal((await api("GET", route, undefined, READ_TOKEN)).status, 200, route);
    }
    const writes: Array<[string, string, unknown]> = [
      ["POST", "accounts", { name: "sneaky" }],
      ["PATCH", `accounts/${key.accountId}`, { activated: false }],
      ["POST", `accounts/${key.accountId}/top-ups`, { amount: "1000" }],
      ["POST", `accounts/${key.accountId}/keys`, {}],
      ["PATCH", `keys/${key.secretId}`, { enabled: false }],
      ["POST", "scenarios", { account: key.accountId, error: "InternalError" }],
      ["DELETE", "scenarios", undefined],
      ["DELETE", "requests", undefined],
    ];
    for (const [method, route, body] of writes) {
      const res = await api(method, route, body, READ_TOKEN);
      assert.deepEqual(
        [res.status, res.body.error],
        [403, "The read-only token sees everything and changes nothing: this route wants the operator token."],
      );
    }
    const { account } = (await ok("GET", `accounts/${key.accountId}`)) as { account: Json };
    assert.deepEqual([account.activated, account.balance], [true, "1000.00"]);
    assert.equal(((await ok("GET", `accounts/${key.accountId}/keys`)) as { keys: Json[] }).keys.length, 1);
  });

  it("no answer holds a phone number, name or identity number", () => {
    const all = answers.join("\n");
    for (const r of demoRecords(chinaDate(Date.now()))) {
      for (const value of [r.phone, r.name, r.idcard]) if (value) assert.ok(!all.includes(value), "a personal value in an answer");
    }
  });
});
