/**
 * The test kit never gets past a production rule: a scenario answers only a call that passed every admission check
 * it would have met — account state, the per-action rate limit, the daily cap, and in gateway mode the team's daily
 * cap and budget — and a call refused there leaves the scenario's uses as they were. Through the official SDK.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";
import { faceidSdk, type FaceIdSdk } from "./helpers/sdk";
import { describeBackends, type TestServer, startTestServer } from "./helpers/server";

const TOKEN = "admission-operator-token-0001";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

async function ops(server: TestServer, method: string, route: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}/_sanyao/${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Adds a scenario; its id. */
async function addScenario(server: TestServer, scenario: Record<string, unknown>): Promise<string> {
  const { scenario: added } = (await ops(server, "POST", "scenarios", scenario)) as { scenario: { id: string } };
  return added.id;
}

/** The uses a scenario has left: null when unlimited, undefined once used up (a used-up scenario leaves the list). */
async function remaining(server: TestServer, id: string): Promise<number | null | undefined> {
  const { scenarios } = (await ops(server, "GET", "scenarios")) as { scenarios: Array<{ id: string; remaining: number | null }> };
  return scenarios.find((s) => s.id === id)?.remaining;
}

/** The Result of an answer, or the code of an API error. */
function outcome(call: Promise<{ Result?: string }>): Promise<string | undefined> {
  return call.then(
    (answer) => answer.Result,
    (err: { code?: string }) => err.code,
  );
}

describeBackends("admission before the test kit's answers", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_RATE_LIMIT: "20", SANYAO_DAILY_CAP: "0" }, backend);
    await server.addRecords(demoRecords(chinaDate(Date.now())));
  });
  after(() => server.close());

  /** A fresh account (so the server reads its state first at the call) with a scenario answering -4 for Alice. */
  async function accountWithScenario(name: string, state: (accountId: string) => Promise<unknown>) {
    const key = await server.addAccount(name);
    await state(key.accountId);
    const id = await addScenario(server, { account: key.accountId, action: "PhoneVerification", result: "-4", times: 1 });
    return { sdk: faceidSdk(server.port, key), id, key };
  }

  it("an admitted call is taken by the scenario, and its use is counted (the control)", async () => {
    const { sdk, id } = await accountWithScenario("admitted", async () => undefined);
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "-4");
    assert.equal(await remaining(server, id), undefined, "its one use taken: gone from the list");
  });

  it("an account that is not activated gets UnauthorizedOperation.Nonactivated, not the scenario's answer", async () => {
    const { sdk, id } = await accountWithScenario("not-activated", (accountId) =>
      server.installation.store.accounts.update(accountId, { activated: false }),
    );
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "UnauthorizedOperation.Nonactivated");
    assert.equal(await remaining(server, id), 1, "the scenario's use is not taken");
  });

  it("an account in arrears gets UnauthorizedOperation.Arrears, not the scenario's answer", async () => {
    const { sdk, id } = await accountWithScenario("arrears", (accountId) => server.installation.store.accounts.topUp(accountId, -100_001));
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "UnauthorizedOperation.Arrears");
    assert.equal(await remaining(server, id), 1);
  });

  it("an account over its per-second limit gets RequestLimitExceeded, not the scenario's answer", async () => {
    const key = await server.addAccount("rate-limited");
    await server.installation.store.accounts.update(key.accountId, { rateLimit: 1 });
    const sdk = faceidSdk(server.port, key);
    // One server second for both calls: the first takes the limit, the second is over it.
    server.setNow(Date.now());
    try {
      assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "0");
      const id = await addScenario(server, { account: key.accountId, action: "PhoneVerification", result: "-4", times: 1 });
      assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "RequestLimitExceeded");
      assert.equal(await remaining(server, id), 1);
    } finally {
      server.setNow(undefined);
    }
  });

  it("a number at its daily cap gets the action's daily-cap code (-12), not the scenario's answer", async () => {
    const key = await server.addAccount("daily-capped");
    await server.installation.store.accounts.update(key.accountId, { dailyCap: 1 });
    const sdk = faceidSdk(server.port, key);
    server.setNow(Date.now());
    try {
      assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "0");
      const id = await addScenario(server, { account: key.accountId, phone: ALICE.Phone, action: "PhoneVerification", result: "-4" });
      assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "-12");
      assert.equal(await remaining(server, id), null, "unlimited, and still there");
      const log = (await ops(server, "GET", `requests?account=${key.accountId}`)).requests as Array<{ scenario?: string; result?: string }>;
      assert.deepEqual(
        log.map((c) => [c.result, c.scenario]),
        [
          ["0", undefined],
          ["-12", undefined],
        ],
      );
    } finally {
      server.setNow(undefined);
    }
  });

  it("a pre-check rejection comes after admission: a scenario may still take such a call", async () => {
    const { sdk, id } = await accountWithScenario("precheck", async () => undefined);
    assert.equal(await outcome(sdk.PhoneVerification({ ...ALICE, IdCard: "110105199003072140" })), "-4");
    assert.equal(await remaining(server, id), undefined, "its one use taken: gone from the list");
  });
});

/** `sanyao upstream set` on the gateway: the upstream's URL, the company key and the upstream's public keys. */
async function pointAt(gateway: TestServer, upstream: TestServer, company: { secretId: string; secretKey: string }) {
  const keys = JSON.parse((await upstream.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
  const set = await gateway.cli([
    "upstream",
    "set",
    "--secret-id",
    company.secretId,
    "--secret-key",
    company.secretKey,
    "--url",
    upstream.url,
    "--rsa-public-key",
    keys.rsa,
    "--sm2-public-key",
    keys.sm2,
  ]);
  assert.equal(set.code, 0, set.stderr);
}

describeBackends("admission before the test kit's answers, gateway mode", (backend) => {
  let upstream: TestServer;
  let gateway: TestServer;
  before(async () => {
    upstream = await startTestServer({}, backend);
    const company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    gateway = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_UPSTREAM_TIMEOUT_MS: "3000" }, backend);
    await pointAt(gateway, upstream, company);
    // The gateway holds no records: an answer of 0 for Alice can only come from the upstream.
    const probe = faceidSdk(gateway.port, await gateway.addAccount("probe"));
    for (let i = 0; i < 40 && (await outcome(probe.MobileStatus({ Mobile: ALICE.Phone }))) !== "0"; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  async function team(name: string, patch: { monthlyBudget?: number; dailyCap?: number }): Promise<{ sdk: FaceIdSdk; accountId: string }> {
    const key = await gateway.addAccount(name);
    await gateway.installation.store.accounts.update(key.accountId, patch);
    return { sdk: faceidSdk(gateway.port, key), accountId: key.accountId };
  }
  const spent = async (accountId: string) =>
    (JSON.parse((await gateway.cli(["usage", "--account", accountId, "--json"])).stdout) as { totals: { amount: string } }).totals.amount;

  it("a team whose budget is spent gets UnauthorizedOperation.Arrears, not the scenario's answer", async () => {
    // PhoneVerification costs 0.30: room for one call.
    const { sdk, accountId } = await team("budget-spent", { monthlyBudget: 30 });
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "0");
    const id = await addScenario(gateway, { account: accountId, action: "PhoneVerification", result: "-4", times: 1 });
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "UnauthorizedOperation.Arrears");
    assert.equal(await remaining(gateway, id), 1);
    assert.equal(await spent(accountId), "0.30");
  });

  it("a scenario's charged Result takes its price from the team's budget like an upstream answer", async () => {
    const { sdk, accountId } = await team("budget-scripted", { monthlyBudget: 60 });
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "0");
    await addScenario(gateway, { account: accountId, action: "PhoneVerification", result: "-4", times: 1 });
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "-4");
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "UnauthorizedOperation.Arrears", "0.60 is spent");
    assert.equal(await spent(accountId), "0.60");
  });

  it("an uncharged scenario Result gives the reservation back", async () => {
    const { sdk, accountId } = await team("budget-uncharged", { monthlyBudget: 30 });
    await addScenario(gateway, { account: accountId, action: "PhoneVerification", result: "-9", times: 2 });
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "-9");
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "-9");
    assert.equal(await outcome(sdk.PhoneVerification(ALICE)), "0", "the budget is whole");
    assert.equal(await spent(accountId), "0.30");
  });

  it("a number at the team's daily cap gets the action's daily-cap code, not the scenario's answer", async () => {
    const { sdk, accountId } = await team("team-capped", { dailyCap: 1 });
    gateway.setNow(Date.now());
    try {
      assert.equal(await outcome(sdk.MobileStatus({ Mobile: ALICE.Phone })), "0");
      const id = await addScenario(gateway, { account: accountId, action: "MobileStatus", result: "-1", times: 1 });
      assert.equal(await outcome(sdk.MobileStatus({ Mobile: ALICE.Phone })), "-4", "MobileStatus's daily-cap code");
      assert.equal(await remaining(gateway, id), 1);
    } finally {
      gateway.setNow(undefined);
    }
  });
});
