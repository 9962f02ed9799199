/**
 * An account made before Cloudauth, upgraded on both backends: migration 16 gives it Cloudauth's documented 50 calls a
 * second per action (alibaba-cloudauth.md §8.8) instead of its account-wide limit, and keeps the limits it had.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, it } from "node:test";
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
/** The accounts as the version before Cloudauth wrote them: 20/s for the account, IdCardVerification's 100. */
const OLD_ROWS = [
  `INSERT INTO accounts (account_id, name, created_at, rate_limit, rate_limits, daily_cap, balance)
     VALUES ('${OLD}', 'old', '2026-01-01T00:00:00.000Z', 20, '{"IdCardVerification":100}', 20, 100000)`,
  // one whose operator had already set an Alibaba action's limit (the upgrade must keep it)
  `INSERT INTO accounts (account_id, name, created_at, rate_limit, rate_limits, daily_cap, balance)
     VALUES ('${OLD_WITH_OWN}', 'own', '2026-01-01T00:00:00.000Z', 20, '{"IdCardVerification":100,"Id2MetaVerify":7}', 20, 100000)`,
];

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

  it("gets 50/s on each Cloudauth action: the 51st call in one second is Throttling.User; its own limits stay", async () => {
    await oldInstallation();
    const config = loadConfig({ dataDir, port: 0, host: "127.0.0.1", demo: false }, env);
    const installation = await openInstallation(config);
    let now = Date.now();
    const server = await startServer({ config, installation, clock: () => now });
    close = async () => {
      await server.close();
      if (backend === "scale-out") await dropScaleOut(env);
    };

    const old = await installation.store.accounts.get(OLD);
    assert.deepEqual({ ...old?.rateLimits }, { IdCardVerification: 100, ...Object.fromEntries(CLOUDAUTH_ACTIONS.map((a) => [a, 50])) });
    assert.equal(old?.rateLimit, 20);
    assert.equal((await installation.store.accounts.get(OLD_WITH_OWN))?.rateLimits.Id2MetaVerify, 7);

    const key = await installation.store.apiKeys.create(OLD);
    const client = cloudauth(server.port, { secretId: key.secretId, secretKey: key.secretKey }, "v3");
    const fields = { paramType: "normal", identifyNum: "110105199003072143", userName: "张三" };
    // One second of the server's clock, whatever the wall clock does meanwhile.
    now = Math.floor(Date.now() / 1000) * 1000 + 100;
    const results = await Promise.allSettled(Array.from({ length: 51 }, () => client.call("Id2MetaVerify", fields)));
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as AlibabaSdkError] : []));
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 50);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.code, "Throttling.User");
    assert.equal(refused[0]?.statusCode, 400);
  });
});
