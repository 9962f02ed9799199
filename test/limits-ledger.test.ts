/** Rate limit, daily caps, account states and the ledger, through HTTP and the CLI. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { callTc3, type Key } from "./helpers/call";
import { within } from "./helpers/cli";
import { startTestServer, type TestServer, describeBackends } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const LI = { Phone: "13900005678", Name: "李四", IdCard: "32010219881115306X" };
// 2026-11-29 12:00:00.100 China time
const NOON = Date.UTC(2026, 10, 29, 4, 0, 0, 100);

describeBackends("limits, account states and the ledger", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      { SANYAO_RATE_LIMIT: "20", SANYAO_DAILY_CAP: "0", SANYAO_PRICE_SIMPLE: "0.30", SANYAO_PRICE_DETAILED: "0.50" },
      backend,
    );
    await server.addRecords([
      { phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard },
      { phone: LI.Phone, name: LI.Name, idcard: LI.IdCard },
    ]);
  });
  after(() => server.close());

  const at = (key: Key, params: Record<string, unknown>, nowMs: number) =>
    callTc3(server.port, key, params, { timestamp: Math.floor(nowMs / 1000) });
  const cli = async (...args: string[]) => {
    const res = await server.cli([...args, "--json"]);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout);
  };

  it("100 concurrent requests in one second: exactly 20 admitted; another account unaffected; the next second admits again", async () => {
    const a = await server.addAccount("burst-a");
    const b = await server.addAccount("burst-b");
    server.setNow(NOON);
    try {
      const answers = await Promise.all(Array.from({ length: 100 }, () => at(a, ZHANG, NOON)));
      const admitted = answers.filter((r) => r.json.Response.Result === "0");
      const refused = answers.filter((r) => r.json.Response.Error?.Code === "RequestLimitExceeded");
      assert.equal(admitted.length, 20);
      assert.equal(refused.length, 80);
      assert.ok(refused.every((r) => r.headers["x-sanyao-billable"] === "0"));
      assert.equal((await at(b, ZHANG, NOON)).json.Response.Result, "0");
      server.setNow(NOON + 1000);
      assert.equal((await at(a, ZHANG, NOON + 1000)).json.Response.Result, "0");
      const usage = await cli("usage", "--account", a.accountId);
      assert.equal(usage.totals.charged, 21, "refused requests are not charged");
    } finally {
      server.setNow(undefined);
    }
  });

  it("daily cap: cap+1 attempts for one identity number → -12; other numbers unaffected; the next China day resets", async () => {
    const key = await server.addAccount("caps");
    await cli("accounts", "set", key.accountId, "--daily-cap", "3");
    const otherPhones = ["13700000001", "13700000002", "13700000003", "13700000004"];
    server.setNow(NOON);
    try {
      // a malformed request never reaches the source and does not count
      assert.equal((await at(key, { ...ZHANG, Name: "张3" }, NOON)).json.Response.Result, "-8");
      const results: string[] = [];
      for (const phone of otherPhones) results.push((await at(key, { ...ZHANG, Phone: phone }, NOON)).json.Response.Result as string);
      assert.deepEqual(results, ["-9", "-9", "-9", "-12"]);
      const capped = await at(key, { ...ZHANG, Phone: "13700000005" }, NOON);
      assert.equal(capped.json.Response.Description, "Authentication attempts exceeded the daily limit. Retry the next day.");
      assert.equal(capped.headers["x-sanyao-billable"], "0");
      assert.equal((await at(key, LI, NOON)).json.Response.Result, "0", "another identity number and phone");

      // 23:59:59 China time is still the same day; 00:00:00 the next
      const lastSecond = Date.UTC(2026, 10, 29, 15, 59, 59, 0);
      server.setNow(lastSecond);
      assert.equal((await at(key, ZHANG, lastSecond)).json.Response.Result, "-12");
      const nextDay = Date.UTC(2026, 10, 29, 16, 0, 0, 0);
      server.setNow(nextDay);
      assert.equal((await at(key, ZHANG, nextDay)).json.Response.Result, "0");
    } finally {
      server.setNow(undefined);
    }
  });

  it("the same phone number is capped too, whatever the identity number", async () => {
    const key = await server.addAccount("caps-phone");
    await cli("accounts", "set", key.accountId, "--daily-cap", "2");
    const ids = ["330106198001013417", "510104199208152233", "310115197511201125"];
    const results = [];
    for (const id of ids) results.push((await callTc3(server.port, key, { ...ZHANG, IdCard: id })).json.Response.Result);
    assert.deepEqual(results, ["-4", "-4", "-12"]);
  });

  it("account states refuse in the documented order; CLI changes reach the running server", async () => {
    const key = await server.addAccount("states");
    const code = async () => (await callTc3(server.port, key, ZHANG)).json.Response.Error?.Code;
    // The server reads account rows again once its cached copy is 250 ms old (real time, not the server's clock):
    // a bounded wait for that, not a timing.
    const becomes = (expected: string | undefined) => within(10_000, async () => (await code()) === expected);
    await cli("accounts", "set", key.accountId, "--activated", "false", "--identity-verified", "false", "--billing", "abnormal");
    await server.installation.store.accounts.topUp(key.accountId, -200_000);
    await becomes("UnauthorizedOperation.Nonactivated");
    await cli("accounts", "set", key.accountId, "--activated", "true");
    await becomes("UnauthorizedOperation.NonAuthorize");
    await cli("accounts", "set", key.accountId, "--identity-verified", "true");
    await becomes("UnauthorizedOperation.ChargeStatusException");
    await cli("accounts", "set", key.accountId, "--billing", "ok");
    await becomes("UnauthorizedOperation.Arrears");
    await cli("accounts", "top-up", key.accountId, "2000");
    await becomes(undefined);
    const shown = await cli("accounts", "show", key.accountId);
    assert.deepEqual([shown.activated, shown.identityVerified, shown.billing, shown.rateLimit, shown.dailyCap], [true, true, "ok", 20, 0]);
  });

  it("the call that takes the balance below zero is served and charged; the next is refused", async () => {
    const key = await server.addAccount("thin");
    await server.installation.store.accounts.topUp(key.accountId, -(100_000 - 50)); // 0.50 left
    const first = await callTc3(server.port, key, ZHANG);
    assert.equal(first.headers["x-sanyao-billable"], "1");
    assert.equal((await cli("accounts", "show", key.accountId)).balance, "0.20");
    const second = await callTc3(server.port, key, ZHANG);
    assert.equal(second.json.Response.Result, "0");
    assert.equal((await cli("accounts", "show", key.accountId)).balance, "-0.10");
    const third = await callTc3(server.port, key, ZHANG);
    assert.equal(third.json.Response.Error?.Code, "UnauthorizedOperation.Arrears");
    assert.equal(third.headers["x-sanyao-billable"], "0");
    assert.equal((await cli("accounts", "show", key.accountId)).balance, "-0.10");
  });

  it("ledger exactly once under load: 50 concurrent clients, mixed inputs; charged answers = ledger rows = balance change", async () => {
    const key = await server.addAccount("load");
    await cli("accounts", "set", key.accountId, "--rate-limit", "100000");
    const before = await cli("accounts", "show", key.accountId);
    const inputs: Array<Record<string, string>> = [
      ZHANG, // 0
      { ...ZHANG, Name: "李四", VerifyMode: "1" }, // -4 detailed
      { ...LI, VerifyMode: "1" }, // 0 detailed
      { ...ZHANG, Phone: "13900009999" }, // -9
      { ...ZHANG, Phone: "1380000123" }, // -6
      { ...ZHANG, Name: "李四" }, // -4
    ];
    let charged = 0;
    let expectedAmount = 0;
    const results: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: 50 }, async (_, client) => {
        for (let i = 0; i < 12; i++) {
          const params = inputs[(client + i) % inputs.length]!;
          const res = await callTc3(server.port, key, params);
          const result = res.json.Response.Result as string;
          results[result] = (results[result] ?? 0) + 1;
          if (res.headers["x-sanyao-billable"] === "1") {
            assert.ok(result === "0" || result === "-4");
            charged++;
            expectedAmount += params.VerifyMode === "1" ? 50 : 30;
          }
        }
      }),
    );
    assert.equal(
      Object.values(results).reduce((a, b) => a + b),
      600,
    );
    assert.equal(charged, 400);
    const usage = await cli("usage", "--account", key.accountId);
    assert.equal(usage.totals.charged, charged);
    assert.equal(usage.totals.calls, 600);
    const after = await cli("accounts", "show", key.accountId);
    const toFen = (s: string) => Math.round(Number(s) * 100);
    assert.equal(toFen(before.balance) - toFen(after.balance), expectedAmount);
    assert.equal(toFen(usage.totals.amount), expectedAmount);
  });

  it("usage: per account, China day and mode; totals agree with the rows; CSV and filters", async () => {
    const key = await server.addAccount("report");
    const day1 = Date.UTC(2026, 10, 27, 2, 0, 0); // 2026-11-27 10:00 China time
    const day2 = Date.UTC(2026, 10, 28, 17, 0, 0); // 2026-11-29 01:00 China time
    for (const [now, params] of [
      [day1, ZHANG],
      [day1, { ...ZHANG, Name: "李四", VerifyMode: "1" }],
      [day1, { ...ZHANG, Phone: "13900009999" }],
      [day2, ZHANG],
      [day2, ZHANG],
    ] as Array<[number, Record<string, string>]>) {
      server.setNow(now);
      await at(key, params, now);
    }
    server.setNow(undefined);
    const usage = await cli("usage", "--account", key.accountId);
    assert.deepEqual(usage.rows, [
      {
        accountId: key.accountId,
        day: "2026-11-27",
        action: "PhoneVerification",
        mode: "detailed",
        calls: 1,
        charged: 1,
        amount: "0.50",
        cached: 0,
        refused: 0,
      },
      {
        accountId: key.accountId,
        day: "2026-11-27",
        action: "PhoneVerification",
        mode: "simple",
        calls: 2,
        charged: 1,
        amount: "0.30",
        cached: 0,
        refused: 0,
      },
      {
        accountId: key.accountId,
        day: "2026-11-29",
        action: "PhoneVerification",
        mode: "simple",
        calls: 2,
        charged: 2,
        amount: "0.60",
        cached: 0,
        refused: 0,
      },
    ]);
    assert.deepEqual(usage.totals, { calls: 5, charged: 4, amount: "1.40", cached: 0, refused: 0 });
    const filtered = await cli("usage", "--account", key.accountId, "--from", "2026-11-28", "--to", "2026-11-29");
    assert.deepEqual(filtered.totals, { calls: 2, charged: 2, amount: "0.60", cached: 0, refused: 0 });
    const csv = await server.cli(["usage", "--account", key.accountId, "--csv"]);
    assert.equal(csv.stdout.split("\n")[0], "accountId,day,action,mode,calls,charged,amount,cached,refused");
    assert.equal(csv.stdout.trim().split("\n").length, 4);
  });
});
