/** `sanyao serve --workers 2`: two processes on one port, one embedded store, limits and ledger exact across them. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { callTc3, type Key } from "./helpers/call";
import { spawn } from "node:child_process";
import fs from "node:fs";
import { BIN, sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { rawRequest, startTestServer, tempDir, type TestServer } from "./helpers/server";
import { randomUUID } from "node:crypto";
import { rpcSignature, rpcStringToSign } from "../src/aliyun/signatures";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";

/** The processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid …: the command name may hold spaces and parentheses, so read after the last ")"
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return children;
}

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
    // set before the first call, so no worker holds the account's row from before the change
    await cli("accounts", "set", account.accountId, "--daily-cap", "0", "--rate-limit", "100000");
  });
  after(() => server.stop());

  it("an Alibaba call replayed with its nonce is refused on whichever worker it lands", async () => {
    const common: Array<[string, string]> = [
      ["AccessKeyId", key.secretId],
      ["Action", "Mobile2MetaVerify"],
      ["Format", "json"],
      ["SignatureMethod", "HMAC-SHA1"],
      ["SignatureNonce", randomUUID()],
      ["SignatureVersion", "1.0"],
      ["Timestamp", new Date().toISOString().replace(/\.\d{3}Z$/, "Z")],
      ["Version", "2019-03-07"],
    ];
    const fields: Array<[string, string]> = [
      ["ParamType", "normal"],
      ["Mobile", "13900009999"],
      ["UserName", "张三"],
    ];
    const signature = rpcSignature(rpcStringToSign("POST", new Map([...common, ...fields])), key.secretKey);
    const send = () =>
      rawRequest(server.port, {
        method: "POST",
        target: `/?${new URLSearchParams([...common, ["Signature", signature]])}`,
        // a connection each: the cluster hands them to the workers in turn
        headers: { host: `127.0.0.1:${server.port}`, "content-type": "application/x-www-form-urlencoded", connection: "close" },
        body: new URLSearchParams(fields).toString(),
      });
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) codes.push(String(((await send()).json as unknown as Record<string, unknown>).Code));
    assert.deepEqual(codes, ["200", ...new Array<string>(9).fill("SignatureNonceUsed")]);
  });

  it("runs two worker processes behind one port", async () => {
    assert.match(server.banner, /2 worker processes/);
    // -9 answers: nothing charged, so the ledger test below counts only its own charges
    for (let i = 0; i < 60; i++) {
      const res = await callTc3(server.port, key, { ...ZHANG, Phone: "13900009999" }, { extraHeaders: { Connection: "close" } });
      assert.equal(res.json.Response.Result, "-9");
    }
    // each worker writes its log lines out within a second (a buffered stream): wait for all 60
    const lines = () =>
      server
        .stdout()
        .split("\n")
        .filter((l) => l.includes('"msg":"request"'));
    for (let i = 0; i < 100 && lines().length < 60; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(new Set(lines().map((l) => JSON.parse(l).pid)).size, 2, "both workers served requests");
  });

  it("ledger exact across workers: charged answers = usage charged = balance change", async () => {
    const before = JSON.parse((await sanyao(["accounts", "show", key.accountId, "--data", data, "--json"])).stdout);
    let charged = 0;
    await Promise.all(
      Array.from({ length: 30 }, async (_, client) => {
        for (let i = 0; i < 6; i++) {
          const params =
            (client + i) % 3 === 0 ? { ...ZHANG, Phone: "13900009999" } : (client + i) % 3 === 1 ? ZHANG : { ...ZHANG, Name: "李四" };
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

describe("serve --workers 2, the clock standing still", () => {
  const data = tempDir();
  let server: ServeProcess;
  let key: Key & { accountId: string };
  before(async () => {
    // Every request lands in one second of the server's clock, however long the burst takes to arrive.
    server = await serveProcess(["--data", data, "--workers", "2"], { SANYAO_CLOCK: String(Date.now()) });
    const cli = async (...args: string[]) => JSON.parse((await sanyao([...args, "--data", data, "--json"])).stdout);
    const account = await cli("accounts", "create", "--name", "w");
    key = { accountId: account.accountId, ...(await cli("keys", "create", "--account", account.accountId)) };
    await cli("accounts", "set", account.accountId, "--daily-cap", "0");
  });
  after(() => server.stop());

  it("100 concurrent requests inside one second across the workers: exactly 20 admitted", async () => {
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        callTc3(server.port, key, { ...ZHANG, Phone: "13900009999" }, { extraHeaders: { Connection: "close" } }),
      ),
    );
    const admitted = answers.filter((r) => r.json.Response.Result === "-9").length;
    const refused = answers.filter((r) => r.json.Response.Error?.Code === "RequestLimitExceeded").length;
    assert.deepEqual([admitted, refused], [20, 80]);
    // Both workers answered, so the count was shared, not kept per process. Each worker writes its log lines out
    // within a second (a buffered stream): wait for all 100 before counting the processes that wrote them.
    const lines = () =>
      server
        .stdout()
        .split("\n")
        .filter((l) => l.includes('"msg":"request"'));
    for (let i = 0; i < 100 && lines().length < 100; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(lines().length, 100, "every call logged");
    assert.equal(new Set(lines().map((l) => JSON.parse(l).pid)).size, 2, "both workers answered");
  });
});

describe("serve --workers 2 in gateway mode: one budget for both workers", () => {
  const data = tempDir();
  let upstream: TestServer;
  let server: ServeProcess;
  const cli = async (...args: string[]) => {
    const res = await sanyao([...args, "--data", data, "--json"]);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout);
  };
  const team = async (name: string) => {
    const account = await cli("accounts", "create", "--name", name);
    await cli("accounts", "set", account.accountId, "--daily-cap", "0", "--rate-limit", "1000");
    return { accountId: account.accountId as string, ...(await cli("keys", "create", "--account", account.accountId)) } as Key & {
      accountId: string;
    };
  };
  const mobileStatus = (key: Key) =>
    callTc3(server.port, key, { Mobile: "13800001234" }, { action: "MobileStatus", extraHeaders: { Connection: "close" } });
  before(async () => {
    upstream = await startTestServer({}, "sqlite");
    const company = await upstream.addAccount("company");
    await upstream.addRecords(demoRecords(chinaDate(Date.now())));
    server = await serveProcess(["--data", data, "--workers", "2"]);
    const keys = JSON.parse((await upstream.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
    await cli(
      "upstream",
      "set",
      ...["--secret-id", company.secretId, "--secret-key", company.secretKey, "--url", upstream.url],
      ...["--rsa-public-key", keys.rsa, "--sm2-public-key", keys.sm2],
    );
    // Both workers see the upstream within a second; a team without a budget waits for it.
    const probe = await team("probe");
    for (let i = 0; i < 60 && (await mobileStatus(probe)).json.Response.Result !== "0"; i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    await server.stop();
    await upstream.close();
  });

  it("12 concurrent calls at 0.10 against a budget of 0.55, over both workers: 5 answered, 7 refused, 0.50 spent", async () => {
    const budgeted = await team("budget");
    await cli("accounts", "set", budgeted.accountId, "--monthly-budget", "0.55"); // before its first call: no worker has its row
    const answers = await Promise.all(Array.from({ length: 12 }, () => mobileStatus(budgeted)));
    const codes = answers.map((r) => String(r.json.Response.Error?.Code ?? r.json.Response.Result));
    assert.equal(codes.filter((c) => c === "0").length, 5, codes.join(" "));
    assert.equal(codes.filter((c) => c === "UnauthorizedOperation.Arrears").length, 7, codes.join(" "));
    assert.equal((await cli("usage", "--account", budgeted.accountId)).totals.amount, "0.50");
    // Twelve log lines are less than a buffer's worth: each worker writes them out within a second.
    const lines = () =>
      server
        .stdout()
        .split("\n")
        .filter((l) => l.includes(budgeted.secretId));
    for (let i = 0; i < 60 && lines().length < 12; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(lines().length, 12, "every call logged");
    assert.equal(new Set(lines().map((l) => JSON.parse(l).pid)).size, 2, "both workers answered the team");
  });
});

describe("serve --workers: failures", () => {
  it("workers that die at start-up are restarted with a growing pause, then it gives up with a clear message", async () => {
    // The primary checks the port before it forks, so a port in use no longer reaches the workers (cli-listen.test.ts);
    // here each worker is killed as soon as it appears, long before a Node process could start serving.
    const started = Date.now();
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, "serve", "--data", tempDir(), "--workers", "2", "--port", "0"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (c) => (stderr += c));
      const killer = setInterval(() => {
        for (const pid of childrenOf(child.pid!)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone already
          }
        }
      }, 5);
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.on("exit", (code) => {
        clearInterval(killer);
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
    const took = Date.now() - started;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /workers failed to start 5 times in a row .*giving up/);
    const restarts = [...result.stderr.matchAll(/starting another in (\d+) ms/g)].map((m) => Number(m[1]));
    assert.deepEqual(restarts.slice(0, 4), [250, 500, 1000, 2000]);
    // Two workers fail side by side, so their pauses overlap: the fifth failure is a restart made after the third
    // failure's 1000 ms pause at the earliest, and the third came after the first 250 ms pause.
    assert.ok(took >= 1250, `gave up after ${took} ms, not in a tight loop`);
  });

  it("a primary that does not answer the counters' question: -11 within the budget, never a hang", async () => {
    // Workers accept connections themselves, so the stopped primary holds only the counters' answers.
    const server = await serveProcess(["--data", tempDir(), "--workers", "2"], { NODE_CLUSTER_SCHED_POLICY: "none" });
    const key = { secretId: /SecretId: {2}(\S+)/.exec(server.banner)![1]!, secretKey: /SecretKey: (\S+)/.exec(server.banner)![1]! };
    try {
      assert.equal((await callTc3(server.port, key, ZHANG)).json.Response.Result, "0");
      process.kill(server.child.pid!, "SIGSTOP");
      const started = Date.now();
      let res: Awaited<ReturnType<typeof callTc3>>;
      try {
        const hang = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 15 s")), 15_000).unref());
        res = await Promise.race([callTc3(server.port, key, ZHANG), hang]);
      } finally {
        process.kill(server.child.pid!, "SIGCONT");
      }
      const took = Date.now() - started;
      process.stdout.write(`# primary stopped: ${res.json.Response.Result} after ${took} ms\n`);
      // The worker's own timer on the counters' question (1 s), not the server's clock: answered at all within the
      // bounded wait above is what must hold; how fast is for a benchmark.
      assert.equal(res.json.Response.Result, "-11");
      assert.ok(took >= 1000, `the budget was waited out first: answered after ${took} ms`);
      assert.equal((await callTc3(server.port, key, ZHANG)).json.Response.Result, "0");
    } finally {
      await server.stop();
    }
  });
});
