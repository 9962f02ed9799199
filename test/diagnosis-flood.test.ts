/**
 * What a flood of refused signatures costs the server: 5,000 calls with 1 MiB bodies, each refused at its signature
 * and diagnosed (or noted) by the test kit, against the real `sanyao serve` in its own process, so that the resident
 * memory measured is the server's alone; valid calls made meanwhile must still be answered.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { verify } from "./helpers/call";
import { sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { flood, formFiller, jsonBody, refusedTc3, refusedV1 } from "./helpers/refused";
import { tempDir } from "./helpers/server";

const TOKEN = "test-operator-token-0123456789";
const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const MiB = 1024 * 1024;
const LIMIT_MiB = 64;

describe("a flood of refused signatures", () => {
  const data = tempDir();
  let served: ServeProcess;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    served = await serveProcess(["--data", data], { SANYAO_ADMIN_TOKEN: TOKEN });
    // An account whose balance, rate limit and daily cap outlast however many valid calls fit into the flood.
    const accountDefaults = { SANYAO_INITIAL_BALANCE: "1000000.00", SANYAO_RATE_LIMIT: "1000000", SANYAO_DAILY_CAP: "0" };
    const cli = async (...args: string[]) => JSON.parse((await sanyao([...args, "--data", data, "--json"], accountDefaults)).stdout);
    const account = await cli("accounts", "create", "--name", "flood");
    key = await cli("keys", "create", "--account", account.accountId);
    const records = path.join(data, "zhang.csv");
    fs.writeFileSync(records, `phone,name,idcard\n${ZHANG.Phone},${ZHANG.Name},${ZHANG.IdCard}\n`);
    const imported = await sanyao(["records", "import", records, "--data", data]);
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(() => served.stop());

  it("5,000 refused calls with 1 MiB bodies grow the server's memory by < 64 MiB; valid calls in parallel answer 0", async () => {
    const tc3Body = jsonBody(MiB);
    const v1Filler = formFiller(MiB);
    // One call in twenty is v1: parsing a 1 MiB form costs the server tens of milliseconds before any diagnosis.
    const refuse = (i: number) =>
      i % 20 === 19 ? refusedV1(served.port, key.secretId, v1Filler) : refusedTc3(served.port, key.secretId, tc3Body);
    assert.equal(String((await verify(served.port, key, ZHANG)).Result), "0");

    let flooding = true;
    const valid: Array<{ result: string; ms: number }> = [];
    const validCalls = async () => {
      while (flooding) {
        const start = performance.now();
        const answer = await verify(served.port, key, ZHANG);
        valid.push({ result: String(answer.Result ?? answer.Error?.Code), ms: performance.now() - start });
      }
    };
    const validDone = validCalls();
    const f = await flood(served, { total: 5000, concurrency: 8, limitMiB: LIMIT_MiB }, refuse);
    flooding = false;
    await validDone;

    const ms = valid.map((v) => v.ms).sort((a, b) => a - b);
    process.stdout.write(
      `# ${f.sent} refused calls with 1 MiB bodies (${JSON.stringify(f.codes)}): server RSS ${f.baseline.toFixed(0)} MiB before, ` +
        `+${f.growth.toFixed(0)} MiB at its peak, ${f.cpu.toFixed(1)} s of CPU; ` +
        `${valid.length} valid calls in parallel, p50 ${ms[Math.floor(ms.length / 2)]?.toFixed(0)} ms, max ${ms.at(-1)?.toFixed(0)} ms\n`,
    );
    assert.equal(f.grewPast, undefined, `resident memory grew by ${LIMIT_MiB} MiB ${f.grewPast}`);
    assert.ok(f.growth < LIMIT_MiB, `peak memory grew by ${f.growth.toFixed(0)} MiB`);
    assert.deepEqual(f.codes, { "AuthFailure.SignatureFailure": 5000 });
    assert.ok(valid.length > 0);
    assert.deepEqual(
      valid.filter((v) => v.result !== "0"),
      [],
    );
  });
});
