/**
 * Failures away from an answer are never swallowed, and never cost a request more than its own row: audit writes
 * that fail, a pool connection that dies, the embedded writer thread stopping, one bad row in a group commit.
 */
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import http from "node:http";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { verify } from "./helpers/call";
import { serveProcess, within } from "./helpers/cli";
import { PG_URL } from "./helpers/services";
import { describeBackends, startTestServer, tempDir, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

function get(port: number, target: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: target, headers }, (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on("error", reject);
  });
}

const failures = async (server: TestServer, kind: string) =>
  Number(
    new RegExp(`sanyao_background_failures_total\\{kind="${kind}"\\} (\\d+)`).exec((await get(server.port, "/metrics")).text)?.[1] ?? 0,
  );

async function chargedInLedger(server: TestServer, accountId: string): Promise<number> {
  const rows = await server.installation.store.ledger.usage({ accountId });
  return rows.reduce((n, r) => n + r.charged, 0);
}

describeBackends("failures away from the answer", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount();
    await server.addRecords([{ phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard }]);
  });
  after(() => server.close());

  /** Runs SQL on the installation's own database, beside the server. */
  async function sql(statement: string): Promise<void> {
    if (backend === "sqlite") {
      const db = new Database(path.join(server.dataDir, "sanyao.db"));
      db.exec(statement);
      db.close();
      return;
    }
    const pg = new Client({ connectionString: PG_URL });
    await pg.connect();
    await pg.query(`SET search_path = ${server.env.SANYAO_DATABASE_SCHEMA}`);
    await pg.query(statement);
    await pg.end();
  }

  it("audit rows that cannot be written are logged and counted; the charges beside them stand", async () => {
    assert.equal((await verify(server.port, key, ZHANG)).Result, "0"); // the writer thread is up
    const before = await failures(server, "audit");
    await sql("ALTER TABLE audit RENAME TO audit_away");
    try {
      const answers = await Promise.all(Array.from({ length: 5 }, () => verify(server.port, key, ZHANG)));
      assert.deepEqual(
        answers.map((a) => a.Result),
        ["0", "0", "0", "0", "0"],
      );
      await within(3000, async () => (await failures(server, "audit")) > before);
      assert.ok(
        server.logs.some((l) => /"kind":"audit"/.test(l) && /"level":50/.test(l)),
        "an error line in the log",
      );
    } finally {
      await sql("ALTER TABLE audit_away RENAME TO audit");
    }
    assert.equal(await chargedInLedger(server, key.accountId), 6);
  });

  if (backend === "scale-out") {
    it("a pooled PostgreSQL connection that dies is logged and counted, and the next call is served", async () => {
      assert.equal((await verify(server.port, key, ZHANG)).Result, "0");
      const pg = new Client({ connectionString: PG_URL });
      await pg.connect();
      await pg.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sanyao' AND state = 'idle'");
      await pg.end();
      await within(3000, async () => (await failures(server, "postgres-pool")) > 0);
      assert.ok(server.logs.some((l) => /"kind":"postgres-pool"/.test(l)));
      assert.equal((await verify(server.port, key, ZHANG)).Result, "0");
    });
  }

  if (backend === "sqlite") {
    it("the writer thread stops: calls fail fast and uncharged, /readyz says so, it restarts, nothing is half-written", async () => {
      const store = server.installation.sqlite!;
      const ledgerBefore = await chargedInLedger(server, key.accountId);
      // Calls in flight while the thread is stopped as a crash would stop it.
      const inFlight = Array.from({ length: 10 }, () => verify(server.port, key, ZHANG));
      await new Promise((r) => setTimeout(r, 5));
      await store.writerThreadHandle!.terminate();
      const during = await verify(server.port, key, ZHANG);
      assert.equal((during.Error as { Code: string } | undefined)?.Code, "FailedOperation.UnKnown");
      // why is for the operator token (anonymous callers learn only that it is not ready)
      const ready = await get(server.port, "/readyz", { authorization: `Bearer ${server.adminToken.token}` });
      assert.equal(ready.status, 503);
      assert.match(ready.text, /writer thread is down/);
      const answers = [...(await Promise.all(inFlight)), during];
      for (const a of answers) assert.ok(a.Result === "0" || (a.Error as { Code: string }).Code === "FailedOperation.UnKnown");
      assert.ok(server.logs.some((l) => /"kind":"writer-thread"/.test(l)));

      await within(5000, async () => (await get(server.port, "/readyz")).status === 200);
      const afterRestart = await verify(server.port, key, ZHANG);
      assert.equal(afterRestart.Result, "0");
      answers.push(afterRestart);
      const charged = answers.filter((a) => a.Result === "0").length;
      assert.equal(await chargedInLedger(server, key.accountId), ledgerBefore + charged, "ledger rows = charged answers");
    });

    it("one bad row does not roll back the other rows of its group commit", async () => {
      const store = server.installation.store;
      const entry = (requestId: string, unitPrice: number | null) => ({
        requestId,
        accountId: key.accountId,
        secretId: key.secretId,
        action: "PhoneVerification",
        mode: "simple" as const,
        unitPrice: unitPrice as number,
        at: Date.now(),
      });
      const before = await chargedInLedger(server, key.accountId);
      // One turn of the event loop, one commit: a, a row the ledger refuses (no price), b.
      const results = await Promise.allSettled([
        store.ledger.charge(entry("group-a", 30)),
        store.ledger.charge(entry("group-bad", null)),
        store.ledger.charge(entry("group-b", 30)),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ["fulfilled", "rejected", "fulfilled"],
      );
      assert.equal(await chargedInLedger(server, key.accountId), before + 2);
    });
  }
});

describe("server lifecycle", () => {
  it("the banner says how to stop; SIGINT prints one line and exits 0", async () => {
    const served = await serveProcess(["--data", tempDir()]);
    assert.match(served.banner, /Stop with Ctrl-C or SIGTERM/);
    assert.match(served.banner, /Logs are JSON lines on stdout/);
    let stderr = "";
    served.child.stderr!.on("data", (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => {
      served.child.removeAllListeners("exit");
      served.child.once("exit", (c) => resolve(c));
      served.child.kill("SIGINT");
    });
    assert.equal(code, 0);
    assert.equal(stderr.trim().split("\n").length, 1);
    assert.match(stderr, /SIGINT/);
  });

  it("a quiet server's log line reaches stdout within a second or so, not when 4 KiB have gathered", async () => {
    const served = await serveProcess(["--data", tempDir()]);
    try {
      const key = { secretId: /SecretId: {2}(\S+)/.exec(served.banner)![1]!, secretKey: /SecretKey: (\S+)/.exec(served.banner)![1]! };
      assert.equal((await verify(served.port, key, { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" })).Result, "0");
      await within(3000, async () => served.stdout().includes('"msg":"request"'));
    } finally {
      await served.stop();
    }
  });
});
