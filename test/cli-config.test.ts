/** `sanyao config`: each setting serve would use, its value and where it came from; secrets only set or unset. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sanyao } from "./helpers/cli";

interface Setting {
  name: string;
  flag?: string;
  value: string | number | boolean | null;
  source: "default" | "environment" | "flag";
}

/** The process environment without SANYAO_* (the machine running the tests may set some). */
const CLEAN: Record<string, string> = Object.fromEntries(
  Object.keys(process.env)
    .filter((k) => k.startsWith("SANYAO_"))
    .map((k) => [k, ""]),
);

async function settings(args: string[], env: Record<string, string> = {}): Promise<Map<string, Setting>> {
  const res = await sanyao(["config", "--json", ...args], { ...CLEAN, ...env });
  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout) as { mode: string; settings: Setting[] };
  return new Map(out.settings.map((s) => [s.name, s]));
}

describe("sanyao config", () => {
  it("each setting from its default, the environment or a flag; a flag wins over the environment", async () => {
    const s = await settings(["--port", "9001", "--no-demo"], { SANYAO_PORT: "9000", SANYAO_RATE_LIMIT: "55", SANYAO_HOST: "0.0.0.0" });
    assert.deepEqual(s.get("SANYAO_PORT"), { name: "SANYAO_PORT", flag: "--port", value: 9001, source: "flag" });
    assert.deepEqual(s.get("SANYAO_HOST"), { name: "SANYAO_HOST", flag: "--host", value: "0.0.0.0", source: "environment" });
    assert.deepEqual(s.get("SANYAO_RATE_LIMIT"), { name: "SANYAO_RATE_LIMIT", value: 55, source: "environment" });
    assert.deepEqual(s.get("SANYAO_DEMO"), { name: "SANYAO_DEMO", flag: "--no-demo", value: false, source: "flag" });
    assert.deepEqual(s.get("SANYAO_DATA_DIR"), { name: "SANYAO_DATA_DIR", flag: "--data", value: "./data", source: "default" });
    assert.deepEqual(s.get("SANYAO_INITIAL_BALANCE"), { name: "SANYAO_INITIAL_BALANCE", value: "1000.00", source: "default" });
    assert.equal(s.get("SANYAO_OPS_PORT")?.value, null);
  });

  it("secrets show set or unset only; a password in a URL is hidden", async () => {
    const secret = "b".repeat(64);
    const token = "sy_config-test-token-do-not-print";
    const s = await settings([], {
      SANYAO_SECRET: secret,
      SANYAO_ADMIN_TOKEN: token,
      SANYAO_DATABASE_URL: "postgres://sanyao:hunter2-db-pass@db.internal:5432/sanyao",
    });
    assert.deepEqual(s.get("SANYAO_SECRET"), { name: "SANYAO_SECRET", value: "set", source: "environment" });
    assert.deepEqual(s.get("SANYAO_ADMIN_TOKEN"), { name: "SANYAO_ADMIN_TOKEN", value: "set", source: "environment" });
    assert.equal(s.get("SANYAO_DATABASE_URL")?.value, "postgres://sanyao:****@db.internal:5432/sanyao");
    const text = await sanyao(["config"], { ...CLEAN, SANYAO_SECRET: secret, SANYAO_ADMIN_TOKEN: token });
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stdout, new RegExp(`${secret}|${token}|hunter2`));
    assert.match(text.stdout, /^mode: embedded\n/);
    assert.match(text.stdout, /SANYAO_ADMIN_TOKEN +environment +set\n/);
    assert.match(text.stdout, /SANYAO_PORT \(--port\) +default +8080\n/);
    // node-postgres also reads a password from the query string
    const query = await settings([], { SANYAO_DATABASE_URL: "postgres://sanyao@db.internal/sanyao?password=hunter3&sslmode=require" });
    assert.equal(query.get("SANYAO_DATABASE_URL")?.value, "postgres://sanyao@db.internal/sanyao?password=****&sslmode=require");
    const unset = await settings([]);
    assert.equal(unset.get("SANYAO_ADMIN_TOKEN")?.value, "unset");
  });

  it("prices and per-action limits name Cloudauth's actions as FaceID's (names with digits among them)", async () => {
    const s = await settings([], {
      SANYAO_PRICES: "Id2MetaVerify=0.15,MobileStatus=0.11",
      SANYAO_RATE_LIMITS: "Mobile3MetaDetailVerify=30",
    });
    const prices = String(s.get("SANYAO_PRICES")?.value);
    for (const priced of ["Id2MetaVerify=0.15", "Id2MetaStandardVerify=0.10", "Mobile3MetaDetailVerify=0.50", "MobileStatus=0.11"])
      assert.ok(prices.split(",").includes(priced), `${priced} in ${prices}`);
    assert.match(String(s.get("SANYAO_RATE_LIMITS")?.value), /(^|,)Mobile3MetaDetailVerify=30(,|$)/);
    const refused = await sanyao(["config"], { ...CLEAN, SANYAO_RATE_LIMITS: "Id2MetaPeriodVerify=3" });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /SANYAO_RATE_LIMITS: "Id2MetaPeriodVerify=3" is not ACTION=N .*Id2MetaVerify/);
  });

  it("the settings serve would refuse are refused here, naming the variable", async () => {
    const res = await sanyao(["config"], { ...CLEAN, SANYAO_DAILY_CAP: "-3" });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /SANYAO_DAILY_CAP must be a whole number from 0 to 1000000/);
  });
});
