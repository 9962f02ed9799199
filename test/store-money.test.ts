/**
 * Money at the edges of the scale-out engines: a PostgreSQL COMMIT whose outcome the server did not see is settled
 * before the answer, so the answer (Result and X-Sanyao-Billable) and the ledger agree and a retry is never charged
 * twice; a Redis that restarts mid-month never gives a gateway team its budget again.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { callTc3, type Key } from "./helpers/call";
import { sanyao, serveProcess, within, type ServeProcess } from "./helpers/cli";
import { type CommitTrap, TcpProxy } from "./helpers/proxy";
import { BACKENDS, dropScaleOut, scaleOutEnv, tempDir } from "./helpers/server";
import { ensureServices, PG_URL } from "./helpers/services";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const skip = !BACKENDS.includes("scale-out") && "SANYAO_TEST_BACKENDS excludes scale-out";

describe("a PostgreSQL COMMIT whose outcome was not seen", { skip }, () => {
  const env = scaleOutEnv();
  const proxy = new TcpProxy(5432);
  /** the servers' environment: PostgreSQL through the proxy */
  let proxied: Record<string, string>;
  let key: Key & { accountId: string };
  const pg = new Client({ connectionString: PG_URL });
  const servers: ServeProcess[] = [];
  const cli = async (...args: string[]) => {
    const res = await sanyao([...args, "--json"], env);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout);
  };

  before(async () => {
    await ensureServices();
    const port = await proxy.start();
    proxied = { ...env, SANYAO_DATABASE_URL: env.SANYAO_DATABASE_URL!.replace(":5432/", `:${port}/`) };
    const account = await cli("accounts", "create", "--name", "commits");
    key = { accountId: account.accountId, ...(await cli("keys", "create", "--account", account.accountId)) };
    await cli("accounts", "set", account.accountId, "--daily-cap", "0", "--rate-limit", "100000");
    const file = path.join(tempDir(), "r.csv");
    fs.writeFileSync(file, `phone,name,idcard\n${ZHANG.Phone},${ZHANG.Name},${ZHANG.IdCard}\n`);
    await cli("records", "import", file);
    await pg.connect();
  });
  after(async () => {
    proxy.release();
    await Promise.all(servers.map((s) => s.stop()));
    await proxy.stop();
    await pg.end();
    await dropScaleOut(env);
  });

  /** A server of its own for each case, so that one that dies cannot hide what the next case measures. */
  async function server(): Promise<ServeProcess> {
    const s = await serveProcess([], proxied);
    servers.push(s);
    return s;
  }

  const schema = () => env.SANYAO_DATABASE_SCHEMA!;
  async function ledger(): Promise<{ rows: number; amount: number; balance: number }> {
    const charged = await pg.query<{ rows: string; amount: string }>(
      `SELECT count(*) AS rows, coalesce(sum(unit_price), 0) AS amount FROM ${schema()}.ledger WHERE account_id = $1`,
      [key.accountId],
    );
    const account = await pg.query<{ balance: string }>(`SELECT balance FROM ${schema()}.accounts WHERE account_id = $1`, [key.accountId]);
    return { rows: Number(charged.rows[0]?.rows), amount: Number(charged.rows[0]?.amount), balance: Number(account.rows[0]?.balance) };
  }
  const rowsOf = async (requestId: string) =>
    Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema()}.ledger WHERE request_id = $1`, [requestId])).rows[0]?.n);

  interface Answer {
    requestId: string;
    result: string;
    billable: string;
  }
  async function call(s: ServeProcess): Promise<Answer> {
    const res = await callTc3(s.port, key, ZHANG);
    const r = res.json.Response;
    return { requestId: r.RequestId, result: String(r.Result ?? r.Error?.Code), billable: String(res.headers["x-sanyao-billable"]) };
  }

  /**
   * The call whose COMMIT is trapped, then (when the answer was uncharged) the client's retry. Whatever happened
   * to the COMMIT: the answers charged exactly what the ledger holds, the balance moved by that, once.
   */
  async function trappedCall(s: ServeProcess, trap: CommitTrap, whileSprung?: () => Promise<void>) {
    const before = await ledger();
    const sprung = proxy.trapCommit(trap);
    const answering = call(s).catch((err: Error) => ({ requestId: "", result: `no answer: ${err.message}`, billable: "" }));
    await sprung;
    let first: Answer;
    try {
      await whileSprung?.();
      first = await answering;
    } finally {
      proxy.release();
      await proxy.start().catch(() => undefined); // if whileSprung stopped it
    }
    const answers = [first];
    if (first.billable !== "1")
      answers.push(await call(s).catch((err: Error) => ({ requestId: "", result: `no answer: ${err.message}`, billable: "" })));
    return { before, first, answers };
  }

  async function agree(s: ServeProcess, run: Awaited<ReturnType<typeof trappedCall>>, t: { diagnostic(m: string): void }) {
    const after = await ledger();
    const billed = run.answers.filter((a) => a.billable === "1").length;
    t.diagnostic(
      `answers ${run.answers.map((a) => `${a.result}/billable ${a.billable || "-"}`).join(", ")}; ` +
        `ledger rows +${after.rows - run.before.rows}, balance -${run.before.balance - after.balance} fen; server ${s.child.exitCode === null ? "up" : "exited"}`,
    );
    assert.equal(s.child.exitCode, null, "the server is still up");
    assert.equal(s.child.signalCode, null, "the server is still up");
    assert.deepEqual(run.answers.map((a) => [a.result, a.billable]).at(-1), ["0", "1"], "the call (or its retry) is answered, charged");
    assert.equal(await rowsOf(run.first.requestId), run.first.billable === "1" ? 1 : 0, "the first answer says what the ledger holds");
    assert.equal(after.rows - run.before.rows, billed, "one ledger row per charged answer");
    assert.equal(billed, 1, "the call is charged once, retry or not");
    assert.equal(run.before.balance - after.balance, after.amount - run.before.amount, "the balance moved by the charges, once each");
  }

  it("its reply held back past the timeout while PostgreSQL applied it: answered charged, as the ledger says", async (t) => {
    const s = await server();
    const run = await trappedCall(s, "hold-reply");
    await agree(s, run, t);
  });

  it("the connection dropped right after the COMMIT went out: the server stays up, the answer is what the ledger says", async (t) => {
    const s = await server();
    const run = await trappedCall(s, "drop-after");
    await agree(s, run, t);
  });

  it("the connection dropped before PostgreSQL saw the COMMIT: written again on another connection, once", async (t) => {
    const s = await server();
    const run = await trappedCall(s, "drop-before");
    await agree(s, run, t);
  });

  for (const trap of ["drop-after", "drop-before"] as const) {
    it(`PostgreSQL away once the COMMIT went out (${trap}): answered charged, written exactly once when it is back`, async (t) => {
      const s = await server();
      const run = await trappedCall(s, trap, () => proxy.stop());
      assert.deepEqual([run.first.result, run.first.billable], ["0", "1"], "the outcome is decided as charged, not answered uncharged");
      // Once PostgreSQL answers again, the charge the answer announced is in the ledger, exactly once.
      const waited = await within(10_000, async () => (await rowsOf(run.first.requestId)) === 1);
      t.diagnostic(`in the ledger ${waited} ms after PostgreSQL came back`);
      await agree(s, run, t);
      // The operator is told, by RequestId (the log is written out within a second).
      const told = new RegExp(`"kind":"ledger".*charge ${run.first.requestId}.*answered as charged`);
      await within(3000, async () => told.test(s.stdout()));
    });
  }
});
