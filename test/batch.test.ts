/** `sanyao batch` on a 2,000-row file: output, summary, charges against the ledger, and resuming after kills. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import { idCheckChar } from "../src/rules/idcard";
import { BIN, sanyao } from "./helpers/cli";
import { TcpProxy } from "./helpers/proxy";
import { sanyaoOnTerminal, screen } from "./helpers/terminal";
import { repoRoot, startTestServer, tempDir, type TestServer } from "./helpers/server";

const PEOPLE = 400;
/** rows of a batch whose input changes while it runs: six seconds at 10 a second */
const WHILE_ROWS = 60;
function person(i: number) {
  const body = `110105${1950 + (i % 50)}${String(1 + (i % 12)).padStart(2, "0")}${String(1 + (i % 28)).padStart(2, "0")}${String(i % 1000).padStart(3, "0")}`;
  return {
    phone: `138${String(i).padStart(8, "0")}`,
    name: "张三李四王五赵六"[i % 8]! + "伟芳娜敏"[i % 4]!,
    idcard: body + idCheckChar(body),
  };
}

/** `rows` rows of people on record, each answered 0. */
function plainFile(file: string, rows: number, from = 0): void {
  const lines = Array.from({ length: rows }, (_, i) => {
    const p = person((from + i) % PEOPLE);
    return `${p.phone},${p.name},${p.idcard}`;
  });
  fs.writeFileSync(file, `phone,name,idcard\n${lines.join("\n")}\n`);
}

/** The file and what each row must come back as. */
function batchFile(rows: number): { text: string; expected: Record<string, number>; malformed: number[] } {
  const lines = ["customer_id,phone,name,idcard"];
  const expected: Record<string, number> = {};
  const malformed: number[] = [];
  for (let i = 0; i < rows; i++) {
    const p = person(i % PEOPLE);
    let row: string[];
    let result: string;
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
        row = [p.phone, p.name, p.idcard];
        result = "0";
        break;
      case 5:
      case 6:
        row = [p.phone, "欧阳修", p.idcard];
        result = "-4";
        break;
      case 7:
        row = [`139${p.phone.slice(3)}`, p.name, p.idcard];
        result = "-9";
        break;
      case 8:
        row = [p.phone, p.name, `${p.idcard.slice(0, 17)}${p.idcard[17] === "0" ? "1" : "0"}`];
        result = "-7";
        break;
      default:
        if (i % 50 === 9) {
          row = [p.phone, "", p.idcard];
          result = "malformed";
          malformed.push(i + 2);
        } else {
          row = ["1380000", p.name, p.idcard];
          result = "-6";
        }
    }
    lines.push([`c${i}`, ...row].join(","));
    expected[result] = (expected[result] ?? 0) + 1;
  }
  return { text: `${lines.join("\n")}\n`, expected, malformed };
}

describe("sanyao batch", () => {
  let server: TestServer;
  const dir = tempDir();
  const input = path.join(dir, "in.csv");
  const file = batchFile(2000);

  before(async () => {
    server = await startTestServer();
    await server.addRecords(Array.from({ length: PEOPLE }, (_, i) => person(i)));
    fs.writeFileSync(input, file.text);
  });
  after(() => server.close());

  const args = (
    key: { secretId: string; secretKey: string },
    out: string,
    rate: number,
    { file = input, concurrency = 16, json = true }: { file?: string; concurrency?: number; json?: boolean } = {},
  ) => [
    "batch",
    file,
    "--out",
    out,
    "--endpoint",
    `http://127.0.0.1:${server.port}`,
    "--secret-id",
    key.secretId,
    "--secret-key",
    key.secretKey,
    "--rate",
    String(rate),
    "--concurrency",
    String(concurrency),
    ...(json ? ["--json"] : []),
  ];
  const usage = async (accountId: string) => JSON.parse((await server.cli(["usage", "--account", accountId, "--json"])).stdout).totals;
  const outputRows = (out: string) => parse(fs.readFileSync(out), { columns: true }) as Array<Record<string, string>>;

  it("2,000 rows with mixed and malformed ones: one output row each, summary and charges as the ledger says", async (t) => {
    const key = await server.addAccount("batch");
    const out = path.join(dir, "out.csv");
    const res = await sanyao(args(key, out, 5000));
    assert.equal(res.code, 0, res.stderr);
    const summary = JSON.parse(res.stdout);
    const rows = outputRows(out);
    assert.equal(rows.length, 2000);
    assert.deepEqual(Object.keys(rows[0]!), [
      "customer_id",
      "phone",
      "name",
      "idcard",
      "result",
      "description",
      "isp",
      "result_detail",
      "request_id",
      "charged",
      "error_code",
    ]);
    assert.equal(rows[0]!.customer_id, "c0");
    assert.equal(rows[1999]!.customer_id, "c1999");
    const byResult: Record<string, number> = {};
    for (const r of rows) {
      const k = r.error_code === "MalformedRow" ? "malformed" : (r.result ?? "none");
      byResult[k] = (byResult[k] ?? 0) + 1;
    }
    assert.deepEqual(byResult, file.expected);
    assert.deepEqual(
      summary.malformed.map((m: { line: number }) => m.line),
      file.malformed,
    );
    const charged = rows.filter((r) => r.charged === "1").length;
    assert.equal(charged, file.expected["0"]! + file.expected["-4"]!);
    assert.equal(summary.charged, charged);
    const ledger = await usage(key.accountId);
    assert.equal(ledger.charged, charged);
    assert.equal(ledger.calls, 2000 - file.malformed.length);
    t.diagnostic(`rows 2000, malformed ${file.malformed.length}, charged ${charged}, ledger rows ${ledger.charged}`);

    // a second run with the same --out sends nothing
    const again = JSON.parse((await sanyao(args(key, out, 5000))).stdout);
    assert.equal(again.sentThisRun, 0);
    assert.equal((await usage(key.accountId)).calls, 2000 - file.malformed.length);
  });

  for (const signal of ["SIGINT", "SIGKILL"] as const) {
    it(`killed halfway with ${signal} and rerun: no row sent twice, output complete`, async (t) => {
      const key = await server.addAccount(`batch-${signal}`);
      const out = path.join(dir, `out-${signal}.csv`);
      const child = spawn(process.execPath, [BIN, ...args(key, out, 400)], { cwd: repoRoot, stdio: "ignore" });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      for (;;) {
        await new Promise((r) => setTimeout(r, 50));
        const journal = fs.existsSync(`${out}.journal`) ? fs.readFileSync(`${out}.journal`, "utf8") : "";
        if (journal.split("\n").length > 1200) break;
      }
      child.kill(signal);
      const code = await exited;
      assert.equal(fs.existsSync(out), false, "no output before the run completes");
      const firstCalls = (await usage(key.accountId)).calls;
      assert.ok(firstCalls > 300 && firstCalls < 1960, `stopped halfway (${firstCalls} calls, exit ${code})`);

      const res = await sanyao(args(key, out, 5000));
      assert.equal(res.code, 0, res.stderr);
      const rows = outputRows(out);
      assert.equal(rows.length, 2000);
      const interrupted = rows.filter((r) => r.error_code === "Interrupted").length;
      const answered = rows.filter((r) => r.result !== "").length;
      assert.equal(answered + interrupted + file.malformed.length, 2000, "every row has its outcome");
      if (signal === "SIGINT") assert.equal(interrupted, 0, "a graceful stop leaves nothing unknown");
      const ledger = await usage(key.accountId);
      // every row reached the server at most once: the answered ones, plus perhaps the interrupted ones
      assert.ok(
        ledger.calls >= answered && ledger.calls <= answered + interrupted,
        `calls ${ledger.calls}, answered ${answered}, interrupted ${interrupted}`,
      );
      const charged = rows.filter((r) => r.charged === "1").length;
      assert.ok(ledger.charged >= charged && ledger.charged <= charged + interrupted);
      t.diagnostic(
        `${signal}: ${firstCalls} calls before the kill (exit ${code}); after the rerun ${ledger.calls} calls for ${answered} answered + ${interrupted} interrupted rows; ledger ${ledger.charged}, charged rows ${charged}`,
      );
    });
  }

  it("an input edited between runs: rows are matched by content — none sent twice, each answer on its own row, the changes named", async (t) => {
    const key = await server.addAccount("edited");
    const row = (id: string, p: { phone: string; name: string; idcard: string }) => `${id},${p.phone},${p.name},${p.idcard}`;
    const other = (i: number) => ({ ...person(i), name: "欧阳修" });
    const rows: Record<string, string> = {
      r1: row("r1", person(301)),
      r2: row("r2", person(302)),
      r3: row("r3", person(303)),
      r4: row("r4", other(304)),
      r5: row("r5", { ...person(305), phone: `139${person(305).phone.slice(3)}` }),
      r6: row("r6", person(306)),
      r7: row("r7", person(307)),
      r8: row("r8", person(308)),
      r9: row("r9", other(309)),
      r10: row("r10", person(310)),
      n0: row("n0", person(311)),
      r3changed: row("r3", other(303)),
    };
    const expected: Record<string, string> = {
      r1: "0",
      r3: "-4",
      r4: "-4",
      r5: "-9",
      r6: "0",
      r7: "0",
      r8: "0",
      r9: "-4",
      r10: "0",
      n0: "0",
    };
    const edited = path.join(dir, "edited.csv");
    const write = (ids: string[]) =>
      fs.writeFileSync(edited, `${["customer_id,phone,name,idcard", ...ids.map((id) => rows[id])].join("\n")}\n`);
    write(["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"]);

    // The first run: r1's answer is lost on the way back (Interrupted: it may have been charged), r2-r6 are
    // answered, r7 meets an account error that stops the run before r8.
    const token = server.adminToken.token ?? "";
    const ops = (method: string, route: string, body?: unknown) =>
      fetch(`${server.url}/_sanyao/${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const added = await ops("POST", "scenarios", {
      account: key.accountId,
      phone: person(307).phone,
      error: "UnauthorizedOperation.Nonactivated",
    });
    assert.equal(added.status, 201);
    const proxy = new TcpProxy(server.port);
    await proxy.start();
    proxy.dropAnswers(1);
    const out = path.join(dir, "edited-out.csv");
    const run = (endpoint: string) =>
      sanyao([
        "batch",
        edited,
        "--out",
        out,
        "--endpoint",
        endpoint,
        "--secret-id",
        key.secretId,
        "--secret-key",
        key.secretKey,
        "--concurrency",
        "1",
        "--json",
      ]);
    try {
      const first = await run(`http://127.0.0.1:${proxy.port}`);
      assert.equal(first.code, 1, first.stderr);
      assert.match(first.stderr, /UnauthorizedOperation\.Nonactivated/);
    } finally {
      await proxy.stop();
    }
    assert.equal((await ops("DELETE", `scenarios?account=${key.accountId}`)).status, 200);

    // Edited: a row inserted above, r2 deleted, r3 changed, r4 and r9 swapped.
    write(["n0", "r1", "r3changed", "r9", "r5", "r6", "r7", "r8", "r4", "r10"]);
    const resumed = await run(`http://127.0.0.1:${server.port}`);
    assert.equal(resumed.code, 0, resumed.stderr);
    const summary = JSON.parse(resumed.stdout);
    t.diagnostic(`resume: ${resumed.stderr.trim()}`);

    // Every call the server answered with a Result, by the masked phone it logged.
    const mask = (phone: string) => `${phone.slice(0, 3)}****${phone.slice(7)}`;
    const calls = server.logs
      .map((l) => JSON.parse(l) as { msg: string; accountId?: string; requestId: string; code: string; subject?: string })
      .filter((l) => l.msg === "request" && l.accountId === key.accountId && /^-?\d+$/.test(l.code));
    const byRequest = new Map(calls.map((c) => [c.requestId, c]));
    const sentPer = (phone: string) => calls.filter((c) => c.subject === mask(phone)).length;
    // run 1: r1 (its answer lost), r2-r6; run 2: n0, the changed r3, r9 (moved up, never sent), r7, r8, r10
    assert.equal(calls.length, 12, calls.map((c) => c.subject).join(" "));
    for (const i of [301, 302, 304, 305, 306, 307, 308, 309, 310, 311]) {
      const phone = i === 305 ? `139${person(i).phone.slice(3)}` : person(i).phone;
      assert.equal(sentPer(phone), 1, `${mask(phone)} sent once`);
    }
    assert.equal(sentPer(person(303).phone), 2, "r3 as it was, then as it was changed");

    const output = outputRows(out);
    assert.deepEqual(
      output.map((r) => r.customer_id),
      ["n0", "r1", "r3", "r9", "r5", "r6", "r7", "r8", "r4", "r10"],
    );
    for (const r of output) {
      const id = r.customer_id ?? "";
      if (id === "r1") {
        assert.equal(r.error_code, "Interrupted", "r1 was sent and its answer lost: not sent again");
        continue;
      }
      const call = byRequest.get(r.request_id ?? "");
      assert.ok(call, `${id}: its RequestId ${r.request_id} is a call the server answered`);
      assert.equal(call.subject, mask(r.phone ?? ""), `${id}: the answer of its own phone`);
      assert.deepEqual([r.result, call.code], [expected[id], expected[id]], `${id}: its own Result`);
    }

    assert.deepEqual(summary.changes, {
      newOrChanged: [2, 4],
      gone: [
        { lastLine: 3, state: "answered", charged: true },
        { lastLine: 4, state: "answered", charged: true },
      ],
      moved: [5, 10],
    });
    assert.match(resumed.stderr, /changed since the last run/);
    assert.match(resumed.stderr, /new or changed rows: lines 2, 4/);
    assert.match(resumed.stderr, /no longer in the input: lines 3, 4 of the last run/);
    assert.match(resumed.stderr, /moved: lines 5, 10/);

    // The journal keys rows by a keyed hash: none of their values is in it.
    const journalText = fs.readFileSync(`${out}.journal`, "utf8");
    for (const line of Object.values(rows)) {
      for (const value of line.split(",").slice(1)) assert.equal(journalText.includes(value), false, "a row's value in the journal");
    }
    // A column the rows are keyed by is gone: the rows cannot be matched, so nothing is sent.
    fs.writeFileSync(edited, `phone,name,idcard\n${person(312).phone},${person(312).name},${person(312).idcard}\n`);
    const refused = await run(`http://127.0.0.1:${server.port}`);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /no column customer_id any more/);
    assert.equal(server.logs.filter((l) => l.includes(key.accountId) && l.includes('"msg":"request"')).length, calls.length + 1);
  });

  it("--dry-run checks rows locally and sends nothing", async () => {
    const res = await sanyao(["batch", input, "--dry-run", "--json"]);
    const summary = JSON.parse(res.stdout);
    assert.equal(summary.sentThisRun, 0);
    assert.equal(summary.byResult["would be sent"], file.expected["0"]! + file.expected["-4"]! + file.expected["-9"]!);
    assert.equal(summary.byResult["-7"], file.expected["-7"]);
    assert.equal(summary.byResult["-6"], file.expected["-6"]);
    assert.equal(summary.malformed.length, file.malformed.length);
  });

  it("a missing column is refused before anything is sent; bad credentials stop the run", async () => {
    const bad = path.join(dir, "bad.csv");
    fs.writeFileSync(bad, "mobile,name,idcard\n13800001234,张三,110105199003072143\n");
    const res = await sanyao(["batch", bad, "--dry-run"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /no column phone/);
    const key = await server.addAccount("wrong");
    const stopped = await sanyao(args({ ...key, secretKey: "wrong-secret-key-00000000000000" }, path.join(dir, "never.csv"), 5000));
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /AuthFailure\.SignatureFailure/);
  });

  it("stopped with Ctrl-C: the rows it says it stopped after are the rows it handled", async () => {
    const key = await server.addAccount("counted");
    const small = path.join(dir, "counted.csv");
    plainFile(small, 100);
    const out = path.join(dir, "counted-out.csv");
    const child = spawn(process.execPath, [BIN, ...args(key, out, 5, { file: small, concurrency: 1, json: false })], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (c) => (stdout += c));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // a few rows sent at 5 a second, one at a time: the reader then waits for the row in flight
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const journal = fs.existsSync(`${out}.journal`) ? fs.readFileSync(`${out}.journal`, "utf8") : "";
      if (journal.split("\n").length > 8) break;
    }
    child.kill("SIGINT");
    assert.equal(await exited, 130);
    const stopped = Number(/stopped after (\d+) rows/.exec(stdout)?.[1]);
    const sent = Number(/sent this run: (\d+); answered before: 0/.exec(stdout)?.[1]);
    assert.ok(sent > 0 && sent < 100, stdout);
    assert.equal(stopped, sent, `the summary's counts agree: ${stdout}`);
    assert.equal((await usage(key.accountId)).calls, sent, "the server answered as many as were sent");
  });

  /** `sanyao batch` over WHILE_ROWS rows at 10 a second, one at a time; `meanwhile` runs once a few rows are in its journal. */
  async function batchWhile(name: string, meanwhile: (input: string) => void) {
    const key = await server.addAccount(name);
    const input = path.join(dir, `${name}.csv`);
    plainFile(input, WHILE_ROWS);
    const out = path.join(dir, `${name}-out.csv`);
    const child = spawn(process.execPath, [BIN, ...args(key, out, 10, { file: input, concurrency: 1, json: false })], {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const journalLines = () => (fs.existsSync(`${out}.journal`) ? fs.readFileSync(`${out}.journal`, "utf8") : "").split("\n").length;
    for (let i = 0; i < 400 && child.exitCode === null && journalLines() <= 4; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(journalLines() > 4, `a few rows sent before the change: ${stderr}`);
    assert.equal(child.exitCode, null, "the run is still sending when its input changes");
    meanwhile(input);
    return { key, out, code: await exited, stderr };
  }

  it("an input renamed over while the batch runs: the rows sent and written out are the file it checked", async () => {
    const { key, out, code, stderr } = await batchWhile("held", (input) => {
      const other = path.join(dir, "held-other.csv");
      plainFile(other, WHILE_ROWS, 200);
      fs.renameSync(other, input);
    });
    assert.equal(code, 0, stderr);
    const rows = outputRows(out);
    assert.deepEqual(
      rows.map((r) => [r.phone, r.result]),
      Array.from({ length: WHILE_ROWS }, (_, i) => [person(i).phone, "0"]),
    );
    assert.equal((await usage(key.accountId)).calls, WHILE_ROWS);
  });

  it("an input written to while the batch runs: stopped before its output, the answers kept for a rerun", async () => {
    const { key, out, code, stderr } = await batchWhile("appended", (input) =>
      fs.appendFileSync(input, `${person(300).phone},${person(300).name},${person(300).idcard}\n`),
    );
    assert.equal(code, 1, stderr);
    assert.match(stderr, /^sanyao: .*appended\.csv: the file changed while it was being read, so no output was written/m);
    assert.equal(fs.existsSync(out), false, "no output");
    assert.equal(fs.existsSync(`${out}.tmp`), false, "nor a part of one");
    const sentFirst = (await usage(key.accountId)).calls;
    assert.ok(sentFirst < WHILE_ROWS, `the run stopped at the change, not at its end: ${sentFirst} sent`);
    // the rerun sends what the first did not (the row added, unless the first read it before its end), nothing twice
    const again = await sanyao(args(key, out, 50, { file: path.join(dir, "appended.csv") }));
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      outputRows(out).map((r) => [r.phone, r.result]),
      [...Array.from({ length: WHILE_ROWS }, (_, i) => person(i).phone), person(300).phone].map((phone) => [phone, "0"]),
    );
    assert.equal((await usage(key.accountId)).calls, WHILE_ROWS + 1);
  });

  it("on a terminal: no rate shown until it means something, and no bar left under the summary", async (t) => {
    const key = await server.addAccount("terminal");
    const file = path.join(dir, "terminal.csv");
    plainFile(file, 120);
    const out = path.join(dir, "terminal-out.csv");
    const run = await sanyaoOnTerminal(args(key, out, 20, { file, concurrency: 4, json: false }));
    assert.equal(run.code, 0, run.bytes);
    const readings = [...run.bytes.matchAll(/rows \| ([\d.]+)\/s/g)].map((m) => Number(m[1]));
    t.diagnostic(`rate readings at --rate 20: ${readings.join(" ")}`);
    assert.ok(readings.length > 0, "a rate is shown once it means something");
    for (const r of readings) assert.ok(r <= 2 * 20, `a reading of ${r}/s at --rate 20`);
    const left = screen(run.bytes).filter((l) => l !== "");
    assert.deepEqual(left.slice(0, 2), [`120 rows → ${out}`, "sent this run: 120; answered before: 0; charged (all runs): 120"]);
    assert.equal(
      left.some((l) => /rows \|/.test(l)),
      false,
      `nothing of the bar on the screen:\n${left.join("\n")}`,
    );
  });

  it("Ctrl-C on a terminal: the bar is taken down before anything is said, and the screen holds only the words", async () => {
    const key = await server.addAccount("ctrl-c");
    const file = path.join(dir, "ctrl-c.csv");
    plainFile(file, 100);
    const out = path.join(dir, "ctrl-c-out.csv");
    let typed = false;
    const run = await sanyaoOnTerminal(args(key, out, 10, { file, concurrency: 1, json: false }), (soFar, type) => {
      if (!typed && /\] [1-9]\d?\/100 rows/.test(soFar)) {
        typed = true;
        type("\x03"); // what Ctrl-C sends: the terminal makes it SIGINT
      }
    });
    assert.equal(run.code, 130, run.bytes);
    const left = screen(run.bytes).filter((l) => l !== "" && l !== "^C");
    const sent = /sent this run: (\d+)/.exec(run.bytes)?.[1];
    assert.deepEqual(left, [
      "sanyao batch: stopping after the rows in flight; rerun the same command to continue.",
      `stopped after ${sent} rows; rerun the same command to continue`,
      `sent this run: ${sent}; answered before: 0; charged (all runs): ${sent}`,
      "by result:",
      `  0                        ${sent}`,
    ]);
  });

  it("an answer lost after the server served it: the row is Interrupted, never sent twice, charged once", async () => {
    const key = await server.addAccount("lossy");
    const small = path.join(dir, "five.csv");
    fs.writeFileSync(
      small,
      `${[
        "phone,name,idcard",
        ...[0, 1, 2, 3, 4].map((i) => {
          const p = person(i);
          return `${p.phone},${p.name},${p.idcard}`;
        }),
      ].join("\n")}\n`,
    );
    const proxy = new TcpProxy(server.port);
    await proxy.start();
    proxy.dropAnswers(1);
    const out = path.join(dir, "five-out.csv");
    try {
      const run = await sanyao([
        "batch",
        small,
        "--out",
        out,
        "--endpoint",
        `http://127.0.0.1:${proxy.port}`,
        "--secret-id",
        key.secretId,
        "--secret-key",
        key.secretKey,
        "--concurrency",
        "1",
        "--json",
      ]);
      const summary = JSON.parse(run.stdout);
      assert.equal(summary.interrupted.length, 1);
      const rows = outputRows(out);
      assert.deepEqual(rows.map((r) => r.result || r.error_code).sort(), ["0", "0", "0", "0", "Interrupted"]);
      assert.equal((await usage(key.accountId)).charged, 5, "the server charged each row once: the lost answer was not resent");
    } finally {
      await proxy.stop();
    }
  });
});

describe("sanyao batch and the account's per-second limit", () => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  const dir = tempDir();
  const input = path.join(dir, "thirty.csv");
  before(async () => {
    server = await startTestServer({ SANYAO_RATE_LIMIT: "5" });
    await server.addRecords(Array.from({ length: 30 }, (_, i) => person(i)));
    key = await server.addAccount("limited");
    plainFile(input, 30);
  });
  after(() => server.close());

  const batch = (out: string, ...more: string[]) => [
    "batch",
    input,
    "--out",
    path.join(dir, out),
    "--endpoint",
    server.url,
    "--secret-id",
    key.secretId,
    "--secret-key",
    key.secretKey,
    "--rate",
    "50",
    ...more,
  ];

  it("--rate above the limit the installation holds for the account: said before sending, and paced under it", async () => {
    const res = await server.cli(batch("capped.csv", "--json"));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /--rate 50 is more than account \d+ may send: 5 PhoneVerification calls a second; sending at 5 a second/);
    const summary = JSON.parse(res.stdout);
    assert.deepEqual(summary.byResult, { "0": 30 }, "no row refused with RequestLimitExceeded");
    assert.equal(summary.rate, 5);
  });

  it("where the installation is out of reach, rows refused for the rate are named with what to do", async () => {
    const elsewhere = tempDir(); // no installation here: the account's limit is unknown to the command
    const res = await sanyao(batch("unknown.csv"), { SANYAO_DATA_DIR: elsewhere });
    assert.equal(res.code, 0, res.stderr);
    const refused = Number(/RequestLimitExceeded +(\d+)/.exec(res.stdout)?.[1]);
    assert.ok(refused > 0, res.stdout);
    assert.match(
      res.stdout,
      new RegExp(
        `${refused} rows? refused with RequestLimitExceeded: more calls a second than the account allows\\. Rerun the same command with a lower --rate to send them\\.`,
      ),
    );
  });
});
