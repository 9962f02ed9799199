/**
 * A test key never moves a real balance: not the stored one, and not the one a running server keeps cached for a
 * quarter of a second (which the next live call of the same account is admitted by).
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { faceidSdk } from "./helpers/sdk";
import { describeBackends, type TestServer, startTestServer } from "./helpers/server";

const FIXTURE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
// Nobody's record, in the fixtures or the operator's: an uncharged -9 for a live key.
const NOBODY = { Phone: "13900001111", Name: "王五", IdCard: "110105199003072143" };

describeBackends("test keys and the real balance", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_PRICE_SIMPLE: "0.30" }, backend);
  });
  after(() => server.close());

  const listed = async (accountId: string) => {
    const res = await server.cli(["accounts", "list", "--json"]);
    assert.equal(res.code, 0, res.stderr);
    return (JSON.parse(res.stdout) as { accounts: Array<{ accountId: string; balance: string }> }).accounts.find(
      (a) => a.accountId === accountId,
    )?.balance;
  };

  it("charged test-key calls leave the account's balance at 0.00: the live key is still served, and the store agrees", async () => {
    const live = await server.addAccount("zero-balance");
    // 1000.00 → 0.00: still served (only a balance below zero is refused).
    await server.installation.store.accounts.topUp(live.accountId, -100_000);
    const testKey = await server.installation.store.apiKeys.create(live.accountId, undefined, { test: true });
    const tester = faceidSdk(server.port, testKey);
    const liveSdk = faceidSdk(server.port, live);
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      assert.equal((await tester.PhoneVerification(FIXTURE)).Result, "0", "charged to the test ledger");
      // At once, while the server still holds the account it read for the test key's call.
      answers.push(
        await liveSdk.PhoneVerification(NOBODY).then(
          (a: { Result: string }) => a.Result,
          (err: { code: string }) => err.code,
        ),
      );
    }
    assert.deepEqual(answers, ["-9", "-9", "-9"]);
    assert.equal(await listed(live.accountId), "0.00");
    assert.equal((await server.installation.store.accounts.get(live.accountId))?.balance, 0);
  });
});
