/**
 * The test kit through the official Node SDK: scenarios of every kind (Result, API error, delay, reset, hang),
 * their times, probability and phone match, the operations API's token, and the request log.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";
import { describeBackends, type TestServer, startTestServer } from "./helpers/server";
import { faceidSdk, type FaceIdSdk } from "./helpers/sdk";

const TOKEN = "test-operator-token-0123456789";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

/** `token` "" sends no Authorization header. */
export async function ops(server: TestServer, method: string, route: string, body?: unknown, token = TOKEN) {
  const res = await fetch(`${server.url}/_sanyao/${route}`, {
    method,
    headers: { ...(token && { authorization: `Bearer ${token}` }), "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: string } };
}

async function sdkError(call: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: String(e.message) };
  }
  assert.fail("the call succeeded");
}

describeBackends("test kit: scenarios", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  let sdk: FaceIdSdk;
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    key = await server.addAccount("scenarios");
    await server.addRecords(demoRecords(chinaDate(Date.now())));
    sdk = faceidSdk(server.port, key);
  });
  after(() => server.close());
  beforeEach(async () => {
    await ops(server, "DELETE", "scenarios");
    await ops(server, "DELETE", "requests");
  });

  const add = async (scenario: Record<string, unknown>) => {
    const res = await ops(server, "POST", "scenarios", { account: key.accountId, ...scenario });
    assert.equal(res.status, 201, res.body.error);
    return (res.body.scenario as { id: string }).id;
  };
  const charged = async () => {
    const usage = JSON.parse((await server.cli(["usage", "--account", key.accountId, "--json"])).stdout) as { totals: { charged: number } };
    return usage.totals.charged;
  };

  it("the operations API refuses a missing or a wrong token, and is off where no token is set", async () => {
    assert.equal((await ops(server, "GET", "scenarios", undefined, "")).status, 401);
    assert.equal((await ops(server, "GET", "scenarios", undefined, `${TOKEN}x`)).status, 401);
    assert.equal((await ops(server, "GET", "requests", undefined, "Bearer")).status, 401);
    assert.equal((await ops(server, "GET", "scenarios")).status, 200);
    if (backend === "scale-out") {
      const off = await startTestServer({}, backend);
      try {
        const res = await ops(off, "GET", "scenarios");
        assert.equal(res.status, 404);
        assert.match(res.body.error!, /off: no operator token/);
      } finally {
        await off.close();
      }
    }
  });

  it("a Result, N times: the SDK sees exactly that Result, then normal answers; the ledger charges it by the table", async () => {
    const before = await charged();
    await add({ action: "PhoneVerification", result: "-4", times: 2 });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await sdk.PhoneVerification({ ...ALICE, VerifyMode: "1" }));
    assert.deepEqual(
      answers.map((a) => [a.Result, a.ResultDetail]),
      [
        ["-4", "OtherMismatch"],
        ["-4", "OtherMismatch"],
        ["0", undefined],
      ],
    );
    assert.equal(answers[0].Description, "Information inconsistency");
    assert.equal(await charged(), before + 3, "-4 is charged by PhoneVerification's table");

    await add({ action: "PhoneVerification", result: "-11", times: 1 });
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "-11");
    assert.equal(await charged(), before + 3, "-11 is not charged");
    const s = await add({ action: "MobileStatus", result: "-1", times: 1 });
    assert.deepEqual(await sdk.MobileStatus({ Mobile: ALICE.Phone }).then((r) => [r.Result, r.StatusCode]), ["-1", 99]);
    const log = (await ops(server, "GET", "requests")).body.requests as Array<{ scenario?: string; result?: string; action: string }>;
    assert.deepEqual(log.at(-1), { ...log.at(-1), action: "MobileStatus", result: "-1", scenario: s });
  });

  it("an API error in the real envelope, N times, then normal again", async () => {
    await add({ error: "RequestLimitExceeded", times: 2 });
    for (let i = 0; i < 2; i++) {
      const err = await sdkError(sdk.PhoneVerification(ALICE));
      assert.equal(err.code, "RequestLimitExceeded");
    }
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "0");
    await add({ action: "CheckPhoneAndName", error: "AuthFailure.SignatureExpire", times: 1 });
    assert.equal((await sdkError(sdk.CheckPhoneAndName({ Mobile: ALICE.Phone, Name: ALICE.Name }))).code, "AuthFailure.SignatureExpire");
    assert.equal((await sdk.CheckPhoneAndName({ Mobile: ALICE.Phone, Name: ALICE.Name })).Result, "0");
  });

  it("a phone match takes only calls about that number (kept as a keyed hash, listed masked)", async () => {
    await add({ phone: "+86 138 0000 1234", error: "InternalError" });
    assert.equal((await sdkError(sdk.PhoneVerification(ALICE))).code, "InternalError");
    assert.equal((await sdkError(sdk.MobileStatus({ Mobile: ALICE.Phone }))).code, "InternalError");
    assert.equal(
      (await sdk.PhoneVerification({ Phone: "13900005678", Name: "李四", IdCard: "110105198512125678" })).Result !== undefined,
      true,
    );
    const listed = JSON.stringify((await ops(server, "GET", "scenarios")).body);
    assert.match(listed, /138\*\*\*\*1234/);
    assert.doesNotMatch(listed, /13800001234|phoneHash/);
  });

  it("probability 0.5 over 1,000 calls takes 500 ± 5 %", async (t) => {
    await add({ action: "MobileStatus", error: "InternalError", probability: 0.5, seed: 20261202 });
    let failed = 0;
    for (let i = 0; i < 1000; i++) {
      try {
        await sdk.MobileStatus({ Mobile: ALICE.Phone });
      } catch {
        failed++;
      }
    }
    assert.ok(failed >= 450 && failed <= 550, `${failed} of 1000 failed`);
    t.diagnostic(`${failed} of 1,000 calls took the scenario`);
  });

  it("added latency: a fixed delay and a range, then the normal answer", async (t) => {
    await add({ delayMs: 300, times: 1 });
    let started = performance.now();
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "0");
    const fixed = performance.now() - started;
    assert.ok(fixed >= 300, "the answer came after the delay");
    await add({ delayMs: "150-200", times: 1 });
    started = performance.now();
    await sdk.PhoneVerification(ALICE);
    const ranged = performance.now() - started;
    assert.ok(ranged >= 150);
    t.diagnostic(`delay 300 ms: answered after ${Math.round(fixed)} ms; delay 150-200 ms: after ${Math.round(ranged)} ms`);
  });

  it("a reset connection and an unanswered call reach the SDK as its own network errors", async () => {
    await add({ reset: true, times: 1 });
    const reset = await sdkError(sdk.PhoneVerification(ALICE));
    assert.match(reset.message, /ECONNRESET|socket hang up/);
    await add({ hang: true, times: 1 });
    const patient = faceidSdk(server.port, key, { httpProfile: { reqTimeout: 1 } });
    const hung = await sdkError(patient.PhoneVerification(ALICE));
    assert.match(hung.message, /timeout|aborted/i);
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "0", "then normal again");
    const log = (await ops(server, "GET", "requests")).body.requests as Array<{ error?: string }>;
    assert.deepEqual(
      log.map((c) => c.error),
      ["reset", "hang", undefined],
    );
  });

  it("a scenario added with the CLI reaches the running server within a second; list, remove and clear", async () => {
    const added = await server.cli([
      "scenarios",
      "add",
      "--account",
      key.accountId,
      "--error",
      "InternalError",
      "--action",
      "MobileStatus",
    ]);
    assert.equal(added.code, 0, added.stderr);
    const id = added.stdout.trim();
    assert.match(id, /^scn-[0-9a-f]{12}$/);
    const deadline = performance.now() + 1500;
    let seen = false;
    while (!seen && performance.now() < deadline) {
      seen = await sdk.MobileStatus({ Mobile: ALICE.Phone }).then(
        () => false,
        () => true,
      );
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(seen, "the server took the scenario");
    const list = await server.cli(["scenarios", "list"]);
    assert.match(list.stdout, new RegExp(`${id}.*MobileStatus.*error InternalError`));
    assert.equal((await server.cli(["scenarios", "remove", id])).code, 0);
    assert.equal((await server.cli(["scenarios", "remove", id])).code, 2);
    const bad = await server.cli(["scenarios", "add", "--account", key.accountId, "--action", "MobileStatus", "--result", "-9"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /MobileStatus has no Result -9/);
    await server.cli(["scenarios", "add", "--account", key.accountId, "--reset"]);
    assert.match((await server.cli(["scenarios", "clear"])).stdout, /Removed 1 scenario\./);
  });

  it("a scenario whose uses are all taken leaves the list, in the CLI and the operations API; one with uses left stays", async () => {
    const spent = await add({ action: "MobileStatus", error: "InternalError", times: 1 });
    const waiting = await add({ action: "MobileStatus", error: "InternalError", times: 2 });
    assert.equal((await sdkError(sdk.MobileStatus({ Mobile: ALICE.Phone }))).code, "InternalError");
    const listed = (await ops(server, "GET", "scenarios")).body.scenarios as Array<{ id: string; remaining: number | null }>;
    assert.deepEqual(
      listed.map((l) => [l.id, l.remaining]),
      [[waiting, 2]],
    );
    const cli = await server.cli(["scenarios", "list", "--json"]);
    assert.deepEqual(
      (JSON.parse(cli.stdout).scenarios as Array<{ id: string }>).map((l) => l.id),
      [waiting],
    );
    const table = await server.cli(["scenarios", "list"]);
    assert.doesNotMatch(table.stdout, new RegExp(spent));
  });

  it("a clock scenario moves one key's clock: its calls see SignatureExpire, another key's do not", async () => {
    const made = await server.cli(["keys", "create", "--account", key.accountId, "--json"]);
    const other = faceidSdk(server.port, JSON.parse(made.stdout) as { secretId: string; secretKey: string });
    await add({ secretId: key.secretId, clockOffsetS: "-400", times: 2 });
    assert.equal((await other.MobileStatus({ Mobile: ALICE.Phone })).Result, "0", "another key's clock is the server's");
    const expired = await sdkError(sdk.MobileStatus({ Mobile: ALICE.Phone }));
    assert.equal(expired.code, "AuthFailure.SignatureExpire");
    await add({ secretId: key.secretId, clockOffsetS: 200, times: 1 });
    assert.equal((await sdkError(sdk.MobileStatus({ Mobile: ALICE.Phone }))).code, "AuthFailure.SignatureExpire", "the second use");
    assert.equal((await sdk.MobileStatus({ Mobile: ALICE.Phone })).Result, "0", "200 s is inside the window");
    assert.equal((await sdk.MobileStatus({ Mobile: ALICE.Phone })).Result, "0", "then the real clock again");
    const refused = await ops(server, "POST", "scenarios", { account: key.accountId, clockOffsetS: 5, phone: ALICE.Phone });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error!, /clock scenario acts before the parameters are read/);
  });

  it("until a time on the server clock: after it, the scenario takes nothing", async () => {
    const now = Date.now();
    server.setNow(now);
    try {
      await add({ error: "InternalError", until: new Date(now + 60_000).toISOString() });
      assert.equal((await sdkError(sdk.MobileStatus({ Mobile: ALICE.Phone }))).code, "InternalError");
      // The SDK signs with the real time: keep the server inside the ±300 s window.
      server.setNow(now + 61_000);
      assert.equal((await sdk.MobileStatus({ Mobile: ALICE.Phone })).Result, "0");
    } finally {
      server.setNow(undefined);
    }
  });

  it("the request log: names, VerifyMode, the encrypted fields and the signature method, never a value", async () => {
    const keys = JSON.parse((await server.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string };
    const { encryptRequestFields } = await import("../src/client/field-encryption");
    const sent = encryptRequestFields({ ...ALICE, VerifyMode: "1" }, { algorithm: "AES-256-CBC", publicKey: keys.rsa, form: "flat" }, [
      "Phone",
    ]);
    assert.equal((await sdk.PhoneVerification(sent)).Result, "0");
    await faceidSdk(server.port, key, { profile: { signMethod: "HmacSHA256" } }).MobileStatus({ Mobile: ALICE.Phone });
    const res = await server.cli(["requests", "--endpoint", server.url, "--token", TOKEN, "--json"]);
    assert.equal(res.code, 0, res.stderr);
    const { requests } = JSON.parse(res.stdout) as { requests: Array<Record<string, unknown>> };
    assert.equal(requests.length, 2);
    assert.deepEqual(requests[0], {
      ...requests[0],
      action: "PhoneVerification",
      params: ["CiphertextBlob", "EncryptList", "IdCard", "Iv", "Name", "Phone", "VerifyMode"],
      verifyMode: "1",
      encrypted: ["Phone"],
      signatureMethod: "TC3-HMAC-SHA256",
      result: "0",
      billable: true,
      accountId: key.accountId,
      secretId: key.secretId,
    });
    assert.deepEqual(requests[1], {
      ...requests[1],
      action: "MobileStatus",
      params: ["Mobile"],
      signatureMethod: "HmacSHA256",
      result: "0",
    });
    assert.doesNotMatch(res.stdout, /13800001234|张三|110105199003072143/);
    const text = await server.cli(["requests", "--endpoint", server.url, "--token", TOKEN]);
    assert.match(text.stdout, /PhoneVerification {2}Result 0 {2}TC3-HMAC-SHA256 .*\(VerifyMode 1; encrypted Phone\)/);
    const noToken = await server.cli(["requests", "--endpoint", server.url, "--token", "wrong-token-0000000000"]);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /operator token/);
  });
});
