/**
 * Alibaba's nonces under the test kit's moved clocks: one account's clock-shifted call must not make the process forget
 * another account's nonces (a review of issue 23 found it did, and the victim's replay was answered and charged again).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { bodyOf, v2Post } from "./helpers/alibaba";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const TOKEN = "review23-operator-token-0123456789";
const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };
const ZHANG_PARAMS = { ParamType: "normal", Mobile: ZHANG.phone, IdentifyNum: ZHANG.idcard, UserName: ZHANG.name };

describeBackends("another account's moved clock and the nonces", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    await server.addRecords([ZHANG]);
  });
  after(() => server.close());

  it("a live call replayed after another account's clock-shifted call is still SignatureNonceUsed, charged once", async () => {
    const victim = await server.addAccount("victim");
    const other = await server.addAccount("other");
    const fields = Object.entries(ZHANG_PARAMS);
    const sent = { nonce: randomUUID(), timestampMs: Date.now() };
    const first = await v2Post(server.port, victim, "Mobile3MetaSimpleVerify", fields, sent);
    assert.equal(bodyOf(first).Code, "200");
    const res = await fetch(`${server.url}/_sanyao/scenarios`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ account: other.accountId, secretId: other.secretId, clockOffsetS: 86_400, times: 1 }),
    });
    assert.equal(res.status, 201, await res.text());
    const shifted = await v2Post(server.port, other, "Mobile3MetaSimpleVerify", fields, { timestampMs: Date.now() + 86_400_000 });
    assert.equal(bodyOf(shifted).Code, "200", JSON.stringify(shifted.json));
    const replay = await v2Post(server.port, victim, "Mobile3MetaSimpleVerify", fields, sent);
    assert.equal(bodyOf(replay).Code, "SignatureNonceUsed", JSON.stringify(replay.json));
    const usage = await server.installation.store.ledger.usage({ accountId: victim.accountId });
    assert.equal(
      usage.reduce((n, r) => n + r.charged, 0),
      1,
    );
  });
});
