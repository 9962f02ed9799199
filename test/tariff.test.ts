/**
 * Per-action rate limits (faceid-family.md §7.1, §7.18) and prices per action and variant, through HTTP and the
 * CLI: IdCardVerification's 100/s beside the account's limit, `accounts set --rate-limit N | ACTION=N`,
 * SANYAO_PRICES, and `sanyao usage` split by action.
 */
import { CLOUDAUTH_RATE_LIMITS } from "../src/cloudauth/tariff";
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FRESHNESS_MS } from "../src/store/fresh-cache";
import { cloudauth } from "./helpers/alibaba";
import { callTc3, type Key } from "./helpers/call";
import { sanyao } from "./helpers/cli";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
// 2026-11-30 12:00:00.100 China time, and whole seconds after it
const NOON = Date.UTC(2026, 10, 30, 4, 0, 0, 100);

describeBackends("rate limits and prices per action", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      {
        SANYAO_RATE_LIMIT: "2",
        // the helper lifts IdCardVerification's own limit; here it has its default, 100/s
        SANYAO_RATE_LIMITS: "",
        SANYAO_PRICES: "IdCardVerification=0.12,PhoneVerification.detailed=0.66,Id2MetaVerify=0.15,Mobile3MetaDetailVerify=0.70",
      },
      backend,
    );
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
  });
  after(() => server.close());

  const call = async (key: Key, action: string, params: Record<string, unknown>, nowMs: number) => {
    server.setNow(nowMs);
    const res = await callTc3(server.port, key, params, { action, timestamp: Math.floor(nowMs / 1000) });
    return (res.json.Response.Error?.Code as string | undefined) ?? (res.json.Response.Result as string);
  };
  const burst = async (key: Key, action: string, params: Record<string, unknown>, n: number, nowMs: number) => {
    const codes = [];
    for (let i = 0; i < n; i++) codes.push(await call(key, action, params, nowMs));
    return {
      admitted: codes.filter((c) => c !== "RequestLimitExceeded").length,
      refused: codes.filter((c) => c === "RequestLimitExceeded").length,
    };
  };
  const cli = async (...args: string[]) => {
    const res = await server.cli(args);
    assert.equal(res.code, 0, res.stderr);
    return res.stdout;
  };
  const ID_PARAMS = { IdCard: ZHANG.IdCard, Name: ZHANG.Name };

  it("a new account: IdCardVerification 100/s, every other action the account's limit, each action its own window", async () => {
    const key = await server.addAccount("limits");
    try {
      assert.deepEqual(await burst(key, "MobileStatus", { Mobile: ZHANG.Phone }, 3, NOON), { admitted: 2, refused: 1 });
      assert.deepEqual(await burst(key, "CheckPhoneAndName", { Mobile: ZHANG.Phone, Name: ZHANG.Name }, 3, NOON), {
        admitted: 2,
        refused: 1,
      });
      assert.deepEqual(await burst(key, "IdCardVerification", ID_PARAMS, 101, NOON), { admitted: 100, refused: 1 });
      const shown = JSON.parse(await cli("accounts", "show", key.accountId, "--json"));
      // Cloudauth's actions come with Alibaba's 50 a second each
      assert.deepEqual(shown.rateLimits, { IdCardVerification: 100, ...CLOUDAUTH_RATE_LIMITS });
    } finally {
      server.setNow(undefined);
    }
  });

  it("accounts set --rate-limit ACTION=N sets one action; --rate-limit N every action", async () => {
    const key = await server.addAccount("set-limits");
    try {
      await cli("accounts", "set", key.accountId, "--rate-limit", "MobileStatus=5", "--rate-limit", "IdCardVerification=3");
      assert.deepEqual(await burst(key, "MobileStatus", { Mobile: ZHANG.Phone }, 6, NOON + 2000), { admitted: 5, refused: 1 });
      assert.deepEqual(await burst(key, "IdCardVerification", ID_PARAMS, 4, NOON + 2000), { admitted: 3, refused: 1 });
      assert.deepEqual(await burst(key, "MobileNetworkTimeVerification", { Mobile: ZHANG.Phone }, 3, NOON + 2000), {
        admitted: 2,
        refused: 1,
      });
      await cli("accounts", "set", key.accountId, "--rate-limit", "4");
      // The server read this account during the bursts above and keeps its row for FRESHNESS_MS of real time: a
      // CLI that finishes sooner than that (a fast machine) would meet the old limits. Wait the window out; a
      // bounded wait, not a timing.
      await sleep(FRESHNESS_MS + 50);
      for (const [action, params] of [
        ["MobileStatus", { Mobile: ZHANG.Phone }],
        ["IdCardVerification", ID_PARAMS],
      ] as const) {
        assert.deepEqual(await burst(key, action, params, 5, NOON + 4000), { admitted: 4, refused: 1 }, action);
      }
      const bad = await server.cli(["accounts", "set", key.accountId, "--rate-limit", "NoSuchAction=3"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /NoSuchAction is not a FaceID or Cloudauth action/);
    } finally {
      server.setNow(undefined);
    }
  });

  it("each action charges its own price; sanyao usage splits calls, charges and amounts by action", async () => {
    const key = await server.addAccount("prices");
    const t = NOON + 10_000;
    assert.equal(await call(key, "IdCardVerification", ID_PARAMS, t), "0");
    assert.equal(await call(key, "PhoneVerification", { ...ZHANG, VerifyMode: "1" }, t + 1000), "0");
    assert.equal(await call(key, "PhoneVerification", ZHANG, t + 2000), "0");
    assert.equal(await call(key, "MobileStatus", { Mobile: ZHANG.Phone }, t + 3000), "0");
    assert.equal(await call(key, "MobileStatus", { Mobile: "1380000" }, t + 4000), "-2");
    server.setNow(undefined);
    const usage = JSON.parse(await cli("usage", "--account", key.accountId, "--json"));
    const rows = usage.rows.map((r: Record<string, unknown>) => [r.action, r.mode, r.calls, r.charged, r.amount]);
    assert.deepEqual(rows, [
      ["IdCardVerification", "simple", 1, 1, "0.12"],
      ["MobileStatus", "simple", 2, 1, "0.10"],
      ["PhoneVerification", "detailed", 1, 1, "0.66"],
      ["PhoneVerification", "simple", 1, 1, "0.30"],
    ]);
    assert.deepEqual(usage.totals, { calls: 5, charged: 4, amount: "1.18", cached: 0, refused: 0 });
    const balance = JSON.parse(await cli("accounts", "show", key.accountId, "--json")).balance;
    assert.equal(balance, "998.82");
  });

  it("SANYAO_PRICES prices Cloudauth's actions too, each twin apart; the others keep their defaults", async () => {
    const key = await server.addAccount("cloudauth-prices");
    const alibaba = cloudauth(server.port, key, "v3");
    const person = { identifyNum: ZHANG.IdCard, userName: ZHANG.Name };
    assert.equal((await alibaba.call("Id2MetaVerify", { paramType: "normal", ...person })).resultObject?.bizCode, "1");
    assert.equal((await alibaba.call("Id2MetaStandardVerify", { paramType: "normal", ...person })).resultObject?.bizCode, "1");
    const three = { paramType: "normal", mobile: ZHANG.Phone, ...person };
    assert.equal((await alibaba.call("Mobile3MetaDetailVerify", three)).resultObject?.bizCode, "1");
    assert.equal((await alibaba.call("Mobile3MetaSimpleVerify", three)).resultObject?.bizCode, "1");
    const usage = JSON.parse(await cli("usage", "--account", key.accountId, "--json"));
    assert.deepEqual(
      usage.rows.map((r: Record<string, unknown>) => [r.action, r.charged, r.amount]),
      [
        ["Id2MetaStandardVerify", 1, "0.10"],
        ["Id2MetaVerify", 1, "0.15"],
        ["Mobile3MetaDetailVerify", 1, "0.70"],
        ["Mobile3MetaSimpleVerify", 1, "0.30"],
      ],
    );
  });

  it("a price for an action not served is refused at start, naming every action that may be priced", async () => {
    const args = backend === "scale-out" ? ["accounts", "list"] : ["accounts", "list", "--data", server.dataDir];
    const res = await sanyao(args, { ...server.env, SANYAO_PRICES: "Id2MetaPeriodVerify=0.10" });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /SANYAO_PRICES: "Id2MetaPeriodVerify=0.10" is not ACTION=AMOUNT/);
    for (const action of ["PhoneVerification", "MobileNetworkTimeVerification", "Id2MetaStandardVerify", "MobileOnlineTime"])
      assert.ok(res.stderr.includes(action), `${action} not named`);
  });

  it("a price that is not one is refused at start", async () => {
    const args = backend === "scale-out" ? ["accounts", "list"] : ["accounts", "list", "--data", server.dataDir];
    const res = await sanyao(args, { ...server.env, SANYAO_PRICES: "IdCardVerification.detailed=0.10" });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /only PhoneVerification has a detailed price/);
  });
});
