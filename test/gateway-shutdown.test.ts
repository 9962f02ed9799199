/**
 * Gateway mode when the gateway's process stops, or lets go of its upstream, while the upstream holds a call (issue 19
 * item 1): every call that reached the upstream ends charged to the team or listed by `usage --unknown`. A SIGTERM,
 * or an `upstream set`, lets the call in flight get its answer and be charged; a SIGKILL leaves the call to the
 * journal of paid answers, which the next start turns into an unknown entry. A second sanyao plays the upstream (it
 * charges the company, as Tencent would); a TCP proxy between them holds its answer, so the call is paid for and
 * still in flight when the gateway stops.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";
import { REPLAY_EVERY_MS } from "../src/store/paid-replay";
import { callTc3, type Key } from "./helpers/call";
import { sanyao, serveProcess, type ServeProcess, within } from "./helpers/cli";
import { TcpProxy } from "./helpers/proxy";
import { type Backend, describeBackends, dropScaleOut, scaleOutEnv, startTestServer, tempDir, type TestServer } from "./helpers/server";

const MOBILE = { Mobile: "13800001234" };
/** The journal is replayed at start, then every 5 s. */
const REPLAYED_MS = 15_000;

/** A gateway as `sanyao serve` runs it, in a child process that the test can signal, and its CLI. */
class Gateway {
  private readonly dir = tempDir();
  private readonly env: Record<string, string>;
  process: ServeProcess | undefined;

  constructor(private readonly backend: Backend) {
    // A held call waits for the test, not for the upstream's time budget.
    this.env = {
      ...(backend === "scale-out" ? scaleOutEnv() : {}),
      SANYAO_JOURNAL_DIR: `${this.dir}/journal`,
      SANYAO_UPSTREAM_TIMEOUT_MS: "60000",
      SANYAO_DAILY_CAP: "0",
    };
  }

  async start(): Promise<ServeProcess> {
    this.process = await serveProcess(["--data", this.dir], this.env);
    return this.process;
  }

  get port(): number {
    if (!this.process) throw new Error("the gateway is not started");
    return this.process.port;
  }

  async cli(...args: string[]): Promise<string> {
    const res = await sanyao([...args, ...(this.backend === "sqlite" ? ["--data", this.dir] : [])], this.env);
    assert.equal(res.code, 0, `${args.join(" ")}: ${res.stderr}`);
    return res.stdout;
  }

  async charged(accountId: string): Promise<number> {
    return (JSON.parse(await this.cli("usage", "--account", accountId, "--json")) as { totals: { charged: number } }).totals.charged;
  }

  async unknown(): Promise<Array<{ requestId: string; reason: string }>> {
    return (JSON.parse(await this.cli("usage", "--unknown", "--json")) as { unknown: Array<{ requestId: string; reason: string }> })
      .unknown;
  }

  async close(): Promise<void> {
    await this.process?.stop();
    if (this.backend === "scale-out") await dropScaleOut(this.env);
  }
}

/** Whether anything accepts connections on `port` (a server that has begun to stop does not). */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

describeBackends("gateway mode: the gateway stops, or changes upstream, while the upstream holds a call", (backend) => {
  let upstream: TestServer;
  let company: Key & { accountId: string };
  let hop: TcpProxy;
  let gateway: Gateway;
  let team: Key & { accountId: string };
  /** charged calls of the team before the case (the call that showed the gateway forwards) */
  let warmUp: number;

  before(async () => {
    upstream = await startTestServer({}, "sqlite");
    company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    hop = new TcpProxy(upstream.port);
    await hop.start();
    gateway = new Gateway(backend);
    await gateway.start();
    const account = JSON.parse(await gateway.cli("accounts", "create", "--name", "team", "--json")) as { accountId: string };
    team = {
      accountId: account.accountId,
      ...(JSON.parse(await gateway.cli("keys", "create", "--account", account.accountId, "--json")) as Key),
    };
    await pointAt(hop);
    // The gateway reads `upstream set` within a second.
    await within(20_000, async () => (await callTc3(gateway.port, team, MOBILE, { action: "MobileStatus" })).json.Response.Result === "0");
  });
  after(async () => {
    hop.release();
    await gateway.close();
    await hop.stop();
    await upstream.close();
  });

  /** `sanyao upstream set` on the gateway: the upstream through `proxy`, the company key, the upstream's public keys. */
  async function pointAt(proxy: TcpProxy) {
    const keys = JSON.parse((await upstream.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
    await gateway.cli(
      ...["upstream", "set", "--secret-id", company.secretId, "--secret-key", company.secretKey, "--url", `http://127.0.0.1:${proxy.port}`],
      ...["--rsa-public-key", keys.rsa, "--sm2-public-key", keys.sm2],
    );
  }

  /** Sends a call, and resolves once the upstream has answered it (and charged the company) and its answer is held. */
  async function callHeldUpstream() {
    warmUp = await gateway.charged(team.accountId);
    const companyBefore = await upstream.cli(["usage", "--account", company.accountId, "--json"]);
    hop.holdAnswers();
    const answer = callTc3(gateway.port, team, MOBILE, { action: "MobileStatus" }).catch((err: unknown) => err);
    await within(20_000, async () => hop.waiting > 0);
    return { answer, companyBefore: (JSON.parse(companyBefore.stdout) as { totals: { charged: number } }).totals.charged };
  }
  const companyPaid = async (before: number) =>
    (JSON.parse((await upstream.cli(["usage", "--account", company.accountId, "--json"])).stdout) as { totals: { charged: number } }).totals
      .charged - before;

  it("a call held past a replay round is still this process's own: charged once answered, never listed", async (t) => {
    const { answer, companyBefore } = await callHeldUpstream();
    const unknownBefore = (await gateway.unknown()).length;
    await new Promise((r) => setTimeout(r, REPLAY_EVERY_MS + 1000)); // the journal's replay sees the call's entry
    hop.release();
    const r = ((await answer) as { json?: { Response?: Record<string, unknown> } }).json?.Response;
    const unknown = (await gateway.unknown()).length - unknownBefore;
    const teamPaid = (await gateway.charged(team.accountId)) - warmUp;
    const paid = await companyPaid(companyBefore);
    t.diagnostic(`answer Result ${String(r?.Result ?? r?.Error)}; company paid ${paid}; team charged ${teamPaid}, unknown ${unknown}`);
    assert.equal(r?.Result, "0");
    assert.equal(teamPaid, 1);
    assert.equal(unknown, 0, "the call in flight was not taken for one left by a stopped process");
  });

  it("SIGTERM: the answer the upstream sends while the gateway drains is let in and charged, not made unknown", async (t) => {
    const { answer, companyBefore } = await callHeldUpstream();
    const unknownBefore = (await gateway.unknown()).length;
    const stopped = gateway.process?.stop();
    await within(10_000, async () => !(await accepting(gateway.port)));
    hop.release();
    const res = await answer;
    await stopped;
    const r = (res as { json?: { Response?: Record<string, unknown> } }).json?.Response;
    const unknown = (await gateway.unknown()).length - unknownBefore;
    const teamPaid = (await gateway.charged(team.accountId)) - warmUp;
    const paid = await companyPaid(companyBefore);
    await gateway.start(); // for the next case
    t.diagnostic(`answer Result ${String(r?.Result ?? r?.Error)}; company paid ${paid}; team charged ${teamPaid}, unknown ${unknown}`);
    assert.equal(paid, 1);
    assert.equal(r?.Result, "0", "the upstream's answer");
    assert.equal(teamPaid, 1, "charged to the team");
    assert.equal(unknown, 0);
  });

  it("SIGKILL while the upstream holds the call: listed as unknown after the restart", async (t) => {
    const { answer, companyBefore } = await callHeldUpstream();
    const unknownBefore = (await gateway.unknown()).length;
    gateway.process?.child.kill("SIGKILL");
    await answer;
    hop.release();
    await gateway.start();
    const settled = async () => (await gateway.unknown()).length - unknownBefore + (await gateway.charged(team.accountId)) - warmUp;
    const waited = await within(REPLAYED_MS, async () => (await settled()) > 0).catch(() => "never");
    const unknown = (await gateway.unknown()).slice(unknownBefore);
    const teamPaid = (await gateway.charged(team.accountId)) - warmUp;
    const paid = await companyPaid(companyBefore);
    const reasons = JSON.stringify(unknown.map((u) => u.reason));
    t.diagnostic(`company paid ${paid}; after the restart (${waited} ms): unknown ${unknown.length} ${reasons}, team charged ${teamPaid}`);
    assert.equal(paid, 1);
    assert.equal(teamPaid, 0, "the gateway never saw the answer");
    assert.equal(unknown.length, 1, "the paid call is listed as unknown");
    assert.match(unknown[0]?.reason ?? "", /sanyao stopped while the call was with the upstream/);
  });

  it("`upstream set` while the upstream holds a call: the call keeps its connection, and its answer is charged", async (t) => {
    const { answer, companyBefore } = await callHeldUpstream();
    const unknownBefore = (await gateway.unknown()).length;
    const hop2 = new TcpProxy(upstream.port);
    await hop2.start();
    try {
      await pointAt(hop2);
      // The gateway reads the settings at most once a second, when it needs them: /readyz makes it read them now.
      await new Promise((r) => setTimeout(r, 1100));
      await fetch(`http://127.0.0.1:${gateway.port}/readyz`);
      hop.release();
      const r = ((await answer) as { json?: { Response?: Record<string, unknown> } }).json?.Response;
      const after = await callTc3(gateway.port, team, MOBILE, { action: "MobileStatus" });
      const unknown = (await gateway.unknown()).length - unknownBefore;
      const teamPaid = (await gateway.charged(team.accountId)) - warmUp;
      const paid = await companyPaid(companyBefore);
      t.diagnostic(
        `answer Result ${String(r?.Result ?? r?.Error)}; company paid ${paid}; team charged ${teamPaid}, unknown ${unknown}; ` +
          `the next call (through the new upstream) ${String(after.json.Response.Result)}`,
      );
      assert.equal(r?.Result, "0", "the upstream's answer");
      assert.equal(after.json.Response.Result, "0");
      assert.equal(paid, 2);
      assert.equal(teamPaid, 2, "both charged to the team");
      assert.equal(unknown, 0);
    } finally {
      await hop2.stop();
    }
  });
});
