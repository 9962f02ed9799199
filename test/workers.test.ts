/** `sanyao serve --workers 2`: two processes on one port, one embedded store, limits and ledger exact across them. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { callTc3, type Key } from "./helpers/call";
import { sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { tempDir } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

describe("serve --workers 2", () => {
  const data = tempDir();
  let server: ServeProcess;
  let key: Key & { accountId: string };
  before(async () => {
    server = await serveProcess(["--data", data, "--workers", "2"]);
    const cli = async (...args: string[]) => JSON.parse((await sanyao([...args, "--data", data, "--json"])).stdout);
    const account = await cli("accounts", "create", "--name", "w");
    key = { accountId: account.accountId, ...(await cli("keys", "create", "--account", account.accountId)) };
    await cli("accounts", "set", account.accountId, "--daily-cap", "0");
  });
  after(() => server.stop());

  it("runs two worker processes behind one port", async () => {
    assert.match(server.banner, /2 worker processes/);
    // -9 answers: nothing charged, so the ledger test below counts only its own charges
    for (let i = 0; i < 60; i++) {
      const res = await callTc3(server.port, key, { ...ZHANG, Phone: "13900009999" }, { extraHeaders: { Connection: "close" } });
      assert.equal(res.json.Response.Result, "-9");
      await new Promise((r) => setTimeout(r, 60)); // under the 20-per-second limit
    }
    const workers = new Set(server.stdout().split("\n").filter(Boolean).map((l) => JSON.parse(l).pid).filter(Boolean));
    assert.equal(workers.size, 2, "both workers served requests");
  });

  it("100 concurrent requests inside one second across the workers: exactly 20 admitted", async () => {
    // Start right after a second boundary so the burst stays inside one wall-clock second.
    for (let attempt = 0; attempt < 3; attempt++) {
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
      const startSecond = Math.floor(Date.now() / 1000);
      const answers = await Promise.all(Array.from({ length: 100 }, () => callTc3(server.port, key, { ...ZHANG, Phone: "13900009999" }, { extraHeaders: { Connection: "close" } })));
      if (Math.floor(Date.now() / 1000) !== startSecond) continue; // the burst straddled a second: try again
      const admitted = answers.filter((r) => r.json.Response.Result === "-9").length;
      const refused = answers.filter((r) => r.json.Response.Error?.Code === "RequestLimitExceeded").length;
      assert.deepEqual([admitted, refused], [20, 80]);
      return;
    }
    assert.fail("could not fit 100 requests into one second three times");
  });

  it("ledger exact across workers: charged answers = usage charged = balance change", async () => {
    await sanyao(["accounts", "set", key.accountId, "--rate-limit", "100000", "--data", data]);
    await new Promise((r) => setTimeout(r, 600)); // the workers' cached account rows expire
    const before = JSON.parse((await sanyao(["accounts", "show", key.accountId, "--data", data, "--json"])).stdout);
    let charged = 0;
    await Promise.all(
      Array.from({ length: 30 }, async (_, client) => {
        for (let i = 0; i < 6; i++) {
          const params = (client + i) % 3 === 0 ? { ...ZHANG, Phone: "13900009999" } : (client + i) % 3 === 1 ? ZHANG : { ...ZHANG, Name: "李四" };
          const res = await callTc3(server.port, key, params, { extraHeaders: { Connection: "close" } });
          if (res.headers["x-sanyao-billable"] === "1") charged++;
        }
      }),
    );
    assert.equal(charged, 120);
    const usage = JSON.parse((await sanyao(["usage", "--account", key.accountId, "--data", data, "--json"])).stdout);
    const afterShow = JSON.parse((await sanyao(["accounts", "show", key.accountId, "--data", data, "--json"])).stdout);
    const fen = (s: string) => Math.round(Number(s) * 100);
    // the earlier tests charged nothing (-9 only)
    assert.equal(usage.totals.charged, charged);
    assert.equal(fen(before.balance) - fen(afterShow.balance), charged * 30);
  });
});
