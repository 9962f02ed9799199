/**
 * SANYAO_CLOCK_OFFSET_S shifts the server's clock (issue 13, item 4): a caller signing with its own real time sees
 * AuthFailure.SignatureExpire beyond 300 s, and the China-time day of the daily caps turns when the shifted clock
 * says, not the real one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { callTc3, type Key } from "./helpers/call";
import { faceidSdk } from "./helpers/sdk";
import { startTestServer, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

for (const offset of [400, -400]) {
  describe(`SANYAO_CLOCK_OFFSET_S=${offset}`, () => {
    let server: TestServer;
    let key: Key;
    before(async () => {
      server = await startTestServer({ SANYAO_CLOCK_OFFSET_S: String(offset) }, "sqlite");
      key = await server.addAccount("offset");
      await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
    });
    after(() => server.close());

    it("the official SDK, signing with the real time, is told its signature expired; signed at the shifted time, it passes", async () => {
      const sdk = faceidSdk(server.port, key);
      await assert.rejects(sdk.PhoneVerification(ZHANG), (err: { code?: string }) => err.code === "AuthFailure.SignatureExpire");
      const shifted = Math.floor(Date.now() / 1000) + offset;
      const res = await callTc3(server.port, key, ZHANG, { timestamp: shifted });
      assert.equal(res.json.Response.Result, "0");
    });
  });
}

describe("SANYAO_CLOCK_OFFSET_S and the China-time day", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_CLOCK_OFFSET_S: "20" }, "sqlite");
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
  });
  after(() => server.close());

  it("the daily cap's day turns at midnight of the shifted clock", async () => {
    const key = await server.addAccount("day");
    await server.installation.store.accounts.update(key.accountId, { dailyCap: 1 });
    // 23:59:30 China time, real; the server's clock says 23:59:50
    const real = Date.parse("2026-11-30T15:59:30Z");
    const call = async (realMs: number) => {
      server.setNow(realMs);
      const res = await callTc3(server.port, key, ZHANG, { timestamp: Math.floor(realMs / 1000) + 20 });
      return res.json.Response.Result;
    };
    try {
      assert.equal(await call(real), "0");
      assert.equal(await call(real + 5000), "-12", "the same day on both clocks");
      // 23:59:45 real, 00:00:05 on the server's clock: a new day there
      assert.equal(await call(real + 15_000), "0");
    } finally {
      server.setNow(undefined);
    }
  });

  it("an offset that is not whole seconds within ten years is refused at start", async () => {
    await assert.rejects(startTestServer({ SANYAO_CLOCK_OFFSET_S: "1.5" }, "sqlite"), /SANYAO_CLOCK_OFFSET_S must be a whole number/);
  });
});
