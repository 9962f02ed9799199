/**
 * Seed files (issue 20 item 2): examples/seed.json applied by `sanyao init --seed` and by `serve` with SANYAO_SEED, on
 * both backends. Applying twice gives the same installation; a bad seed is refused whole, each problem named by file,
 * entry and field, with nothing applied; the SDK signs with a key the seed fixed in advance.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, it } from "node:test";
import { person } from "../bench/dataset";
import { type CliResult, sanyao, serveProcess } from "./helpers/cli";
import { faceidSdk } from "./helpers/sdk";
import { describeBackends, dropScaleOut, repoRoot, scaleOutEnv, tempDir } from "./helpers/server";
import { ensureServices } from "./helpers/services";

const EXAMPLE = path.join(repoRoot, "examples", "seed.json");
const CI_KEY = { secretId: "AKIDsanyaoCiKey000000000000000001", secretKey: "ci-secret-key-known-in-advance-01" };
const CI_TEST_KEY = { secretId: "AKIDsanyaoCiTestKey00000000000001", secretKey: "ci-test-key-known-in-advance-0001" };
const ARREARS_KEY = { secretId: "AKIDsanyaoArrears000000000000001", secretKey: "arrears-key-known-in-advance-001" };

interface SeedReport {
  accounts: Array<{ name: string; accountId: string; created: boolean }>;
  keys: Array<{ name?: string; secretId: string; created: boolean; secretKey?: string }>;
  records: { imported: number; replaced: number };
  scenarios: { added: number; present: number };
  ms: number;
  checkMs: number;
}

function json<T>(res: CliResult): T {
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as T;
}

describeBackends("seed files", (backend) => {
  let env: Record<string, string> = {};
  const dir = tempDir();
  const data = path.join(dir, "data");
  /** the sanyao command on this suite's installation */
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    sanyao(backend === "scale-out" ? args : [...args, "--data", data], { ...env, ...extra });

  before(async () => {
    if (backend === "scale-out") {
      await ensureServices();
      env = scaleOutEnv();
    }
  });
  after(async () => {
    if (backend === "scale-out") await dropScaleOut(env);
  });

  /** What the installation holds, as the CLI shows it without a server: accounts and their keys (scenarios are
   *  listed by a running server; the reports' counts stand for them). */
  async function snapshot(): Promise<unknown> {
    const { accounts } = json<{ accounts: Array<{ accountId: string }> }>(await cli(["accounts", "list", "--json"]));
    const keys = [];
    for (const a of accounts) keys.push(json<{ keys: unknown[] }>(await cli(["keys", "list", "--account", a.accountId, "--json"])).keys);
    return { accounts, keys };
  }

  let first: SeedReport;
  it("init --seed examples/seed.json makes the installation and applies the seed", async () => {
    const out = json<{ created: boolean; seed: SeedReport }>(await cli(["init", "--seed", EXAMPLE, "--json"]));
    assert.equal(out.created, true);
    first = out.seed;
    assert.deepEqual(
      first.accounts.map((a) => [a.name, a.created]),
      [
        ["ci", true],
        ["team-a", true],
        ["in-arrears", true],
        ["not-activated", true],
      ],
    );
    assert.equal(first.keys.filter((k) => k.created).length, 4);
    const generated = first.keys.find((k) => k.name === "team-a-app");
    assert.match(generated?.secretKey ?? "", /^[A-Za-z0-9]{32}$/, "a generated key's SecretKey is shown once");
    assert.equal(first.keys.filter((k) => k.secretKey !== undefined).length, 1, "given keys are not echoed");
    assert.deepEqual(first.records, { imported: 6, replaced: 0 });
    assert.deepEqual(first.scenarios, { added: 2, present: 0 });
    const ci = json<{ balance: string; rateLimit: number; dailyCap: number; kmsAuthorized: boolean }>(
      await cli(["accounts", "show", first.accounts[0]!.accountId, "--json"]),
    );
    assert.deepEqual([ci.balance, ci.rateLimit, ci.dailyCap, ci.kmsAuthorized], ["500.00", 100, 0, true]);
    const teamA = json<{ monthlyBudget: string; rateLimits: Record<string, number> }>(
      await cli(["accounts", "show", first.accounts[1]!.accountId, "--json"]),
    );
    assert.equal(teamA.monthlyBudget, "2000.00");
    assert.deepEqual(teamA.rateLimits, { IdCardVerification: 50 });
  });

  it("applied twice: the same installation (nothing created, no key shown again, records replaced by themselves)", async () => {
    const before = await snapshot();
    const out = json<{ created: boolean; seed: SeedReport }>(await cli(["init", "--seed", EXAMPLE, "--json"]));
    assert.equal(out.created, false, "init on an existing installation makes nothing");
    assert.deepEqual(
      out.seed.accounts.map((a) => [a.accountId, a.created]),
      first.accounts.map((a) => [a.accountId, false]),
    );
    assert.equal(out.seed.keys.filter((k) => k.created || k.secretKey !== undefined).length, 0);
    assert.deepEqual(
      out.seed.keys.map((k) => k.secretId),
      first.keys.map((k) => k.secretId),
    );
    assert.deepEqual(out.seed.records, { imported: 6, replaced: 6 });
    assert.deepEqual(out.seed.scenarios, { added: 0, present: 2 });
    assert.deepEqual(await snapshot(), before);
  });

  it("a bad seed is refused whole: file, entry and field named, exit 2, nothing applied", async () => {
    const before = await snapshot();
    const bad = path.join(dir, "bad.json");
    // written as a person would: the identity number as a JSON number, which would lose its last digits
    fs.writeFileSync(
      bad,
      `{
        "accounts": [{ "name": "would-be-new" }, { "name": "bad-cap", "dailyCap": -1 }],
        "keys": [{ "account": "would-be-new", "name": "k" }],
        "records": [{ "phone": "13912349999", "name": "周一", "idcard": 110105198506127316 }]
      }`,
    );
    const res = await cli(["init", "--seed", bad]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /bad\.json: accounts\[1\]\.dailyCap: must be a whole number ≥ 0/);
    assert.match(res.stderr, /bad\.json: records\[0\]\.idcard: must be a string in quotes/);
    assert.match(res.stderr, /nothing of it was applied/);
    assert.deepEqual(await snapshot(), before);
  });

  it("a seed the store contradicts (a known SecretId with another SecretKey) is refused before any write", async () => {
    const before = await snapshot();
    const bad = path.join(dir, "contradicts.json");
    fs.writeFileSync(
      bad,
      JSON.stringify({
        accounts: [{ name: "would-be-new" }, { name: "ci", dailyCap: 7 }],
        keys: [{ account: "ci", secretId: CI_KEY.secretId, secretKey: "another-secret-key-0000000000001" }],
      }),
    );
    const res = await cli(["init", "--seed", bad]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /contradicts\.json: keys\[0\]\.secretKey: the key AKIDsanyaoCiKey\d+ exists with another SecretKey/);
    assert.deepEqual(await snapshot(), before, "neither the new account nor ci's cap was written");
  });

  it("the upstream: its SecretKey from a file or a variable, never the seed; applied again, unchanged", async () => {
    const up = path.join(dir, "upstream");
    fs.mkdirSync(up);
    fs.writeFileSync(path.join(up, "company-key"), "company-secret-key-from-a-file-01\n");
    const fromFile = { upstream: { url: "http://127.0.0.1:9", secretId: "AKIDcompanyUpstreamKey0001", secretKeyFile: "company-key" } };
    fs.writeFileSync(path.join(up, "seed.json"), JSON.stringify(fromFile));
    const first = json<{ seed: { upstream: { changed: boolean } } }>(await cli(["init", "--seed", path.join(up, "seed.json"), "--json"]));
    assert.equal(first.seed.upstream.changed, true);
    const again = json<{ seed: { upstream: { changed: boolean } } }>(await cli(["init", "--seed", path.join(up, "seed.json"), "--json"]));
    assert.equal(again.seed.upstream.changed, false);
    assert.deepEqual(json<{ upstream: { url: string; secretId: string } }>(await cli(["upstream", "show", "--json"])).upstream, {
      url: "http://127.0.0.1:9",
      secretId: "AKIDcompanyUpstreamKey0001",
      publicKeys: "Tencent's published keys",
    });
    const inSeed = { upstream: { secretId: "AKIDcompanyUpstreamKey0001", secretKey: "company-secret-key-in-the-seed-01" } };
    fs.writeFileSync(path.join(up, "holds-key.json"), JSON.stringify(inSeed));
    const refused = await cli(["init", "--seed", path.join(up, "holds-key.json")]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /holds-key\.json: upstream\.secretKey: a seed never holds the company SecretKey/);
    const noVariable = { upstream: { secretId: "AKIDcompanyUpstreamKey0001", secretKeyEnv: "SANYAO_TEST_NO_SUCH_VARIABLE" } };
    fs.writeFileSync(path.join(up, "no-variable.json"), JSON.stringify(noVariable));
    const unset = await cli(["init", "--seed", path.join(up, "no-variable.json")]);
    assert.match(unset.stderr, /upstream\.secretKeyEnv: the environment variable SANYAO_TEST_NO_SUCH_VARIABLE is not set/);
    // gateway mode off again, so the calls below answer from the records
    assert.equal((await cli(["upstream", "clear"])).code, 0);
  });

  it("serve with SANYAO_SEED applies it at start; the SDK signs with the seeded key: Result 0", async () => {
    const server = await serveProcess(backend === "scale-out" ? [] : ["--data", data], { ...env, SANYAO_SEED: EXAMPLE });
    try {
      assert.match(server.banner, /Seed .*seed\.json applied in \d+ ms \(checked in \d+ ms\): 4 accounts \(0 created\)/);
      const answer = await faceidSdk(server.port, CI_KEY).PhoneVerification({
        Phone: "13912340001",
        Name: "王小明",
        IdCard: "110105198506127316",
      });
      assert.equal(answer.Result, "0");
      // the CSV's record (a path relative to the seed file) answers too
      const fromCsv = await faceidSdk(server.port, CI_KEY).PhoneVerification({
        Phone: "13912340004",
        Name: "陈静",
        IdCard: "510107200101010037",
      });
      assert.equal(fromCsv.Result, "0");
      // the seeded scenario takes the next call about its number, once
      await assert.rejects(
        faceidSdk(server.port, CI_KEY).PhoneVerification({ Phone: "13912340002", Name: "李小红", IdCard: "310104199203042011" }),
        (err: { code?: string }) => err.code === "InternalError",
      );
      // the test key answers from the fixtures (the demo records), the account in arrears is refused
      const test = await faceidSdk(server.port, CI_TEST_KEY).PhoneVerification({
        Phone: "13800001234",
        Name: "张三",
        IdCard: "110105199003072143",
      });
      assert.equal(test.Result, "0");
      await assert.rejects(
        faceidSdk(server.port, ARREARS_KEY).PhoneVerification({ Phone: "13912340001", Name: "王小明", IdCard: "110105198506127316" }),
        (err: { code?: string }) => err.code === "UnauthorizedOperation.Arrears",
      );
    } finally {
      await server.stop();
    }
  });

  it("10,000 records from a CSV: the apply time is printed (not asserted)", async (t) => {
    const big = path.join(dir, "big");
    fs.mkdirSync(big);
    const rows = Array.from({ length: 10_000 }, (_, i) => {
      const p = person(500_000 + i);
      return `${p.phone},${p.name},${p.idcard}`;
    });
    fs.writeFileSync(path.join(big, "records.csv"), `phone,name,idcard\n${rows.join("\n")}\n`);
    fs.writeFileSync(path.join(big, "seed.json"), JSON.stringify({ records: [{ file: "records.csv" }] }));
    const started = Date.now();
    const out = json<{ seed: SeedReport }>(await cli(["init", "--seed", path.join(big, "seed.json"), "--json"]));
    const wall = Date.now() - started;
    assert.deepEqual(out.seed.records, { imported: 10_000, replaced: 0 });
    t.diagnostic(
      `seed of 10,000 CSV records [${backend}]: file checked in ${out.seed.checkMs} ms, applied in ${out.seed.ms} ms; ` +
        `the whole init --seed command ${wall} ms`,
    );
  });
});

describeBackends("seed files, two instances at once", (backend) => {
  it("two init --seed on one new installation at once: one of each account and key, both exit 0", {
    skip: backend !== "scale-out",
  }, async () => {
    await ensureServices();
    const env = scaleOutEnv();
    try {
      const [a, b] = await Promise.all([
        sanyao(["init", "--seed", EXAMPLE, "--json"], env),
        sanyao(["init", "--seed", EXAMPLE, "--json"], env),
      ]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      const { accounts } = JSON.parse((await sanyao(["accounts", "list", "--json"], env)).stdout) as { accounts: Array<{ name: string }> };
      assert.deepEqual(accounts.map((x) => x.name).sort(), ["ci", "in-arrears", "not-activated", "team-a"]);
      const made = [a, b].map((r) => (JSON.parse(r.stdout) as { seed: SeedReport }).seed.keys.filter((k) => k.created).length);
      assert.deepEqual(made.sort(), [0, 4], "one applied the seed, the other found it applied");
    } finally {
      await dropScaleOut(env);
    }
  });
});
