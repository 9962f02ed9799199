/**
 * An installation made before the console, upgraded on both backends: migration 14 rolls up the calls and charges it
 * already has, so its overview counts them from the first request, the same as the audit trail and ledger hold.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, it } from "node:test";
import Database from "better-sqlite3";
import { Client } from "pg";
import { loadConfig } from "../src/app/config";
import { openInstallation } from "../src/app/installation";
import { startServer } from "../src/app/server";
import { MIGRATIONS } from "../src/store/migrations";
import { DATABASE_FILE } from "../src/store/sqlite/store";
import { describeBackends, dropScaleOut, scaleOutEnv, tempDir } from "./helpers/server";
import { ensureServices, PG_URL } from "./helpers/services";

const TOKEN = "overview-upgrade-operator-token";
const HOUR = 3_600_000;

/** Rows of the version before the console: calls (one an error) and charges, 3 and 30 hours ago. */
function history(now: number): string[] {
  const rows: string[] = [`INSERT INTO accounts (account_id, name, created_at) VALUES ('100000000001', 'old', '2026-01-01T00:00:00.000Z')`];
  let n = 0;
  for (const [hoursAgo, calls] of [
    [3, 4],
    [30, 5],
  ] as const) {
    const at = Math.round(now - hoursAgo * HOUR);
    for (let i = 0; i < calls; i++) {
      const id = `old-${++n}`;
      const code = i === 0 ? "InternalError" : "0";
      rows.push(
        `INSERT INTO audit (at, request_id, account_id, secret_id, action, code, latency_us, test) VALUES (${at}, '${id}', '100000000001', 'AKIDold00000', 'PhoneVerification', '${code}', 1500, 0)`,
      );
      if (i > 0) {
        rows.push(
          `INSERT INTO ledger (request_id, account_id, secret_id, action, mode, unit_price, at, test) VALUES ('${id}', '100000000001', 'AKIDold00000', 'PhoneVerification', 'simple', 30, ${at}, 0)`,
        );
      }
    }
  }
  return rows;
}

const BEFORE_CONSOLE = MIGRATIONS.filter((m) => m.version <= 13);

/** More (hour, action, code) rows than one statement could bind four values each of (65,535 parameters): 17,000 codes. */
const MANY_CODES = 17_000;
function manyCodes(now: number, backend: string): string[] {
  const at = Math.round(now - 3 * HOUR);
  const select = `SELECT ${at}, 'many-' || i, '100000000001', 'AKIDold00000', 'PhoneVerification', 'E' || i, 1500, 0`;
  const columns = "audit (at, request_id, account_id, secret_id, action, code, latency_us, test)";
  return [
    `INSERT INTO accounts (account_id, name, created_at) VALUES ('100000000001', 'old', '2026-01-01T00:00:00.000Z')`,
    backend === "sqlite"
      ? `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${MANY_CODES}) INSERT INTO ${columns} ${select} FROM s`
      : `INSERT INTO ${columns} ${select} FROM generate_series(1, ${MANY_CODES}) AS i`,
  ];
}

describeBackends("an installation upgraded to the console", (backend) => {
  let env: Record<string, string> = { SANYAO_ADMIN_TOKEN: TOKEN };
  let dataDir = tempDir();
  let close = async () => {};
  after(() => close());

  it("counts its history in the overview from the first request (migration 14 rolled it up)", async () => {
    const now = Date.now();
    await upgrade(history(now));
    const rolledUpTo = Number(await installation.store.meta.get("overview.rolled-up-to"));
    assert.equal(rolledUpTo, Math.floor((now - HOUR) / HOUR) * HOUR, "the history is rolled up to the hour that ended an hour ago");
    const body = (await overview("day")) as {
      actions: Array<{ action: string; calls: number; charged: number; errors: number; amount: string }>;
    };
    assert.deepEqual(body.actions, [{ action: "PhoneVerification", calls: 4, charged: 3, amount: "0.90", errors: 1, refusals: 0 }]);
    const month = (await overview("30d")) as { actions: Array<{ calls: number; charged: number }> };
    assert.equal(month.actions[0]?.calls, 9);
    assert.equal(month.actions[0]?.charged, 7);
  });

  it("rolls up a history of more distinct codes in an hour than one statement could bind", async () => {
    await close();
    env = { SANYAO_ADMIN_TOKEN: TOKEN };
    dataDir = tempDir();
    // The rollup the server runs (not migration 14's): the history as if no rollup had run yet.
    await upgrade(manyCodes(Date.now(), backend), ["DELETE FROM overview_calls", "DELETE FROM meta WHERE key = 'overview.rolled-up-to'"]);
    for (let i = 0; i < 200 && (await installation.store.meta.get("overview.rolled-up-to")) === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(await installation.store.meta.get("overview.rolled-up-to"), "the server rolled the history up");
    const body = (await overview("day")) as { actions: Array<{ action: string; calls: number; errors: number }> };
    assert.equal(body.actions[0]?.calls, MANY_CODES);
  });

  let installation: Awaited<ReturnType<typeof openInstallation>>;
  let opsUrl = "";
  const overview = async (window: string): Promise<unknown> => {
    const res = await fetch(`${opsUrl}/_sanyao/overview?window=${window}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    return res.json();
  };

  /** Statements run on the installation's database as it is now. */
  async function runSql(statements: string[]): Promise<void> {
    if (backend === "sqlite") {
      const db = new Database(path.join(dataDir, DATABASE_FILE));
      for (const sql of statements) db.exec(sql);
      db.close();
      return;
    }
    const pg = new Client({ connectionString: PG_URL });
    await pg.connect();
    await pg.query(`SET search_path TO ${env.SANYAO_DATABASE_SCHEMA}`);
    for (const sql of statements) await pg.query(sql);
    await pg.end();
  }

  /** An installation at migration 13 holding `rows`, opened by this version (which upgrades it) and served. */
  async function upgrade(rows: string[], afterMigrations: string[] = []): Promise<void> {
    if (backend === "sqlite") {
      const db = new Database(path.join(dataDir, DATABASE_FILE));
      db.transaction(() => {
        for (const m of BEFORE_CONSOLE) db.exec(m.sqlite);
        db.pragma("user_version = 13");
        for (const sql of rows) db.exec(sql);
      })();
      db.close();
    } else {
      await ensureServices();
      Object.assign(env, scaleOutEnv());
      const pg = new Client({ connectionString: PG_URL });
      await pg.connect();
      await pg.query(`CREATE SCHEMA ${env.SANYAO_DATABASE_SCHEMA}`);
      await pg.query(`SET search_path TO ${env.SANYAO_DATABASE_SCHEMA}`);
      await pg.query("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      for (const m of BEFORE_CONSOLE) {
        await pg.query(m.postgres);
        await pg.query("INSERT INTO schema_version (version) VALUES ($1)", [m.version]);
      }
      for (const sql of rows) await pg.query(sql);
      await pg.end();
    }
    const config = loadConfig({ dataDir, port: 0, host: "127.0.0.1", demo: false }, { ...env, SANYAO_LOG_LEVEL: "silent" });
    installation = await openInstallation(config);
    if (afterMigrations.length > 0) await runSql(afterMigrations);
    const server = await startServer({ config, installation });
    opsUrl = server.opsUrl;
    const shown = env;
    close = async () => {
      await server.close();
      if (backend === "scale-out") await dropScaleOut(shown);
    };
  }
});
