/**
 * Accounts made before Cloudauth, upgraded on both backends: migration 16 gives each Cloudauth action the account has
 * no limit for Cloudauth's documented 50 calls a second (alibaba-cloudauth.md §8.8), or the account-wide limit where
 * that is lower; the limits it had are kept, and a stored value that is not a JSON object counts as none.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, it } from "node:test";
import Database from "better-sqlite3";
import { Client } from "pg";
import { loadConfig } from "../src/app/config";
import { openInstallation } from "../src/app/installation";
import { startServer } from "../src/app/server";
import { CLOUDAUTH_ACTIONS } from "../src/cloudauth/tariff";
import { MIGRATIONS } from "../src/store/migrations";
import { DATABASE_FILE } from "../src/store/sqlite/store";
import { type AlibabaSdkError, cloudauth } from "./helpers/alibaba";
import { describeBackends, dropScaleOut, scaleOutEnv, tempDir } from "./helpers/server";
import { ensureServices, PG_URL } from "./helpers/services";

const BEFORE_CLOUDAUTH = MIGRATIONS.filter((m) => m.version <= 15);
const OLD = "100000000001";
const OLD_WITH_OWN = "100000000002";
const LOWERED = "100000000003";
const EMPTY = "100000000004";
const JSON_NULL = "100000000005";
const JSON_ARRAY = "100000000006";
const NOT_JSON = "100000000007";

/** An account as the version before Cloudauth wrote it. */
const oldRow = (id: string, rateLimit: number, rateLimits: string) =>
  `INSERT INTO accounts (account_id, name, created_at, rate_limit, rate_limits, daily_cap, balance)
     VALUES ('${id}', 'old', '2026-01-01T00:00:00.000Z', ${rateLimit}, '${rateLimits}', 20, 100000)`;
const OLD_ROWS = [
  // an account-wide limit above Cloudauth's 50/s, and IdCardVerification's 100
  oldRow(OLD, 100, '{"IdCardVerification":100}'),
  // one whose operator had already set an Alibaba action's limit (the upgrade must keep it)
  oldRow(OLD_WITH_OWN, 20, '{"IdCardVerification":100,"Id2MetaVerify":7}'),
  // `accounts set --rate-limit 5`: 5/s for every action, no single-action limits
  oldRow(LOWERED, 5, "{}"),
  // values the reader takes for no single-action limits, which the upgrade must neither choke on nor keep
  oldRow(EMPTY, 20, ""),
  oldRow(JSON_NULL, 20, "null"),
  oldRow(JSON_ARRAY, 20, "[]"),
  oldRow(NOT_JSON, 20, "{oops"),
];

/** Each Cloudauth action at one limit. */
const cloudauthAt = (n: number) => Object.fromEntries(CLOUDAUTH_ACTIONS.map((a) => [a, n]));

describeBackends("an account made before Cloudauth, upgraded", (backend) => {
  const env: Record<string, string> = { SANYAO_LOG_LEVEL: "silent" };
  const dataDir = tempDir();
  let close = async () => {};
  after(() => close());

  /** An installation at migration 15 holding the old accounts. */
  async function oldInstallation(): Promise<void> {
    if (backend === "sqlite") {
      const db = new Database(path.join(dataDir, DATABASE_FILE));
      db.transaction(() => {
        for (const m of BEFORE_CLOUDAUTH) db.exec(m.sqlite);
        db.pragma("user_version = 15");
        for (const sql of OLD_ROWS) db.exec(sql);
      })();
      db.close();
      return;
    }
    await ensureServices();
    Object.assign(env, scaleOutEnv());
    const pg = new Client({ connectionString: PG_URL });
    await pg.connect();
    await pg.query(`CREATE SCHEMA ${env.SANYAO_DATABASE_SCHEMA}`);
    await pg.query(`SET search_path TO ${env.SANYAO_DATABASE_SCHEMA}`);
    await pg.query("CREATE TABLE schema_version (version INTEGER NOT NULL)");
    for (const m of BEFORE_CLOUDAUTH) {
      await pg.query(m.postgres);
      await pg.query("INSERT INTO schema_version (version) VALUES ($1)", [m.version]);
    }
    for (const sql of OLD_ROWS) await pg.query(sql);
    await pg.end();
  }

  /** Each account's rate_limits as stored, by account id. */
  async function storedRateLimits(): Promise<Map<string, string>> {
    const query = "SELECT account_id, rate_limits FROM accounts";
    const isRow = (r: unknown): r is { account_id: string; rate_limits: string } =>
      typeof r === "object" && r !== null && "account_id" in r && "rate_limits" in r && typeof r.rate_limits === "string";
    let rows: unknown[];
    if (backend === "sqlite") {
      const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
      rows = db.prepare(query).all();
      db.close();
    } else {
      const pg = new Client({ connectionString: PG_URL });
      await pg.connect();
      await pg.query(`SET search_path TO ${env.SANYAO_DATABASE_SCHEMA}`);
      rows = (await pg.query(query)).rows;
      await pg.end();
    }
    return new Map(rows.filter(isRow).map((r) => [r.account_id, r.rate_limits]));
  }

  let now = 0;
  let server: Awaited<ReturnType<typeof startServer>>;
  let installation: Awaited<ReturnType<typeof openInstallation>>;

  before(async () => {
    await oldInstallation();
    const config = loadConfig({ dataDir, port: 0, host: "127.0.0.1", demo: false }, env);
    installation = await openInstallation(config);
    server = await startServer({ config, installation, clock: () => now });
    close = async () => {
      await server.close();
      if (backend === "scale-out") await dropScaleOut(env);
    };
  });

  /** As many Id2MetaVerify calls of the account as given, all in one second of the server's clock. */
  async function oneSecondOfCalls(accountId: string, calls: number): Promise<{ answered: number; refused: AlibabaSdkError[] }> {
    const key = await installation.store.apiKeys.create(accountId);
    const client = cloudauth(server.port, { secretId: key.secretId, secretKey: key.secretKey }, "v3");
    const fields = { paramType: "normal", identifyNum: "110105199003072143", userName: "张三" };
    // One second of the server's clock, whatever the wall clock does meanwhile.
    now = Math.floor(Date.now() / 1000) * 1000 + 100;
    const results = await Promise.allSettled(Array.from({ length: calls }, () => client.call("Id2MetaVerify", fields)));
    return {
      answered: results.filter((r) => r.status === "fulfilled").length,
      refused: results.flatMap((r) => (r.status === "rejected" ? [r.reason as AlibabaSdkError] : [])),
    };
  }

  it("gives each Cloudauth action the lower of 50/s and the account's limit, and keeps the limits the account had", async () => {
    const limitsOf = async (id: string) => ({ ...(await installation.store.accounts.get(id))?.rateLimits });
    assert.deepEqual(await limitsOf(OLD), { IdCardVerification: 100, ...cloudauthAt(50) });
    assert.equal((await installation.store.accounts.get(OLD))?.rateLimit, 100);
    assert.deepEqual(await limitsOf(OLD_WITH_OWN), { IdCardVerification: 100, ...cloudauthAt(20), Id2MetaVerify: 7 });
    assert.deepEqual(await limitsOf(LOWERED), cloudauthAt(5));
    assert.equal((await installation.store.accounts.get(LOWERED))?.rateLimit, 5);
    for (const id of [EMPTY, JSON_NULL, JSON_ARRAY, NOT_JSON]) assert.deepEqual(await limitsOf(id), cloudauthAt(20), id);
  });

  it("stores a JSON object for every account, whatever it held before", async () => {
    const stored = await storedRateLimits();
    assert.equal(stored.size, OLD_ROWS.length);
    for (const [id, text] of stored) {
      const parsed: unknown = JSON.parse(text);
      assert.ok(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed), `${id}: ${text}`);
    }
    assert.deepEqual(JSON.parse(stored.get(EMPTY) ?? ""), cloudauthAt(20));
    assert.deepEqual(JSON.parse(stored.get(JSON_NULL) ?? ""), cloudauthAt(20));
  });

  it("an account-wide limit above 50/s: the 51st Cloudauth call in one second is Throttling.User", async () => {
    const { answered, refused } = await oneSecondOfCalls(OLD, 51);
    assert.equal(answered, 50);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.code, "Throttling.User");
    assert.equal(refused[0]?.statusCode, 400);
  });

  it("an account-wide limit of 5/s stays in force on Cloudauth: the 6th call in one second is Throttling.User", async () => {
    const { answered, refused } = await oneSecondOfCalls(LOWERED, 6);
    assert.equal(answered, 5);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.code, "Throttling.User");
    assert.equal(refused[0]?.statusCode, 400);
  });
});
