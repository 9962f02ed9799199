/** The `sanyao` command: accounts, keys, records import, verify, and changes seen by a running server. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { verify } from "./helpers/call";
import { sanyao, serveProcess, within, type ServeProcess } from "./helpers/cli";
import { tempDir } from "./helpers/server";

describe("sanyao CLI", () => {
  let data: string;
  let server: ServeProcess;
  before(async () => {
    data = tempDir();
    server = await serveProcess(["--data", data]);
  });
  after(() => server.stop());

  const json = async (args: string[]) => {
    const res = await sanyao([...args, "--data", data, "--json"]);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout);
  };

  it("--help answers for the program and each command", async () => {
    const root = await sanyao(["--help"]);
    assert.equal(root.code, 0);
    for (const command of ["serve", "accounts", "keys", "records", "verify"]) assert.match(root.stdout, new RegExp(command));
    const imp = await sanyao(["records", "import", "--help"]);
    assert.match(imp.stdout, /phone,name,idcard/);
    const srv = await sanyao(["serve", "--help"]);
    assert.match(srv.stdout, /SANYAO_PORT/);
  });

  it("accounts create/list and keys create/list/disable, seen by the running server within a second", async () => {
    const account = await json(["accounts", "create", "--name", "team-a"]);
    assert.match(account.accountId, /^\d+$/);
    assert.equal(account.name, "team-a");
    const { accounts } = await json(["accounts", "list"]);
    assert.ok(accounts.some((a: { accountId: string }) => a.accountId === account.accountId));

    const key = await json(["keys", "create", "--account", account.accountId]);
    assert.match(key.secretId, /^AKID[A-Za-z0-9]{32}$/);
    assert.equal(key.secretKey.length, 32);
    const { keys } = await json(["keys", "list", "--account", account.accountId]);
    assert.deepEqual(
      keys.map((k: { secretId: string; enabled: boolean }) => [k.secretId, k.enabled]),
      [[key.secretId, true]],
    );
    assert.equal(JSON.stringify(keys).includes(key.secretKey), false);

    const person = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
    const works = async () => (await verify(server.port, key, person)).Result === "0";
    // a running server reads keys again once its cached copy is 250 ms old (real time): a bounded wait, not a timing
    await within(10_000, works);

    await json(["keys", "disable", key.secretId]);
    await within(10_000, async () => (await verify(server.port, key, person)).Error?.Code === "AuthFailure.SecretIdNotFound");
  });

  it("fixed credentials for CI keys; usage errors exit 2 with a message", async () => {
    const account = await json(["accounts", "create", "--name", "ci"]);
    const key = await json([
      "keys",
      "create",
      "--account",
      account.accountId,
      "--secret-id",
      "AKIDciFixedKey0001",
      "--secret-key",
      "ci-secret-key-0123456789",
    ]);
    assert.deepEqual(key, { secretId: "AKIDciFixedKey0001", secretKey: "ci-secret-key-0123456789" });
    const unknown = await sanyao(["keys", "create", "--account", "999", "--data", data]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No account 999/);
    const half = await sanyao(["keys", "create", "--account", account.accountId, "--secret-id", "AKIDx", "--data", data]);
    assert.equal(half.code, 2);
    const disable = await sanyao(["keys", "disable", "AKIDdoesNotExist", "--data", data]);
    assert.equal(disable.code, 2);
  });

  it("records import: CSV with a rejected line, re-import replaces, NDJSON; new records answer at once", async () => {
    const dir = tempDir();
    const csv = path.join(dir, "people.csv");
    fs.writeFileSync(
      csv,
      `${[
        "phone,name,idcard,isp",
        "13900001111,王小明,330106198001013417,",
        "13900002222,李小红,510104199208152233,telecom",
        "13900003333,张3,110105199003072143,",
        "17000001234,赵六,110105199003072143,",
      ].join("\n")}\n`,
    );
    const first = await imported(csv);
    assert.deepEqual(
      { read: first.read, imported: first.imported, replaced: first.replaced, rejected: first.rejected },
      { read: 4, imported: 2, replaced: 0, rejected: 2 },
    );
    assert.deepEqual(
      first.rejections.map((r: { line: number }) => r.line),
      [4, 5],
    );
    assert.match(first.rejections[0].reason, /name/);
    assert.match(first.rejections[1].reason, /mvno/);

    const text = await sanyao(["records", "import", csv, "--data", data]);
    assert.equal(text.code, 3, "rows were rejected");
    assert.match(text.stdout, /read 4, imported 2 \(replaced 2\), rejected 2/);
    assert.match(text.stdout, /line 4: name is malformed/);
    for (const raw of ["张3", "13900003333", "17000001234", "王小明"]) assert.equal(text.stdout.includes(raw), false, raw);

    const ndjson = path.join(dir, "more.ndjson");
    fs.writeFileSync(ndjson, '{"phone":"13900001111","name":"王小明","idcard":"420102198506124573"}\n{"phone":"13900004444"}\nnot json\n');
    const nd = await imported(ndjson);
    assert.deepEqual([nd.read, nd.imported, nd.replaced, nd.rejected], [3, 1, 1, 2]);

    const { keys } = await json(["keys", "list", "--account", (await json(["accounts", "list"])).accounts[0].accountId]);
    assert.ok(keys.length > 0);
    const ci = { secretId: "AKIDciFixedKey0001", secretKey: "ci-secret-key-0123456789" };
    // the replaced record: the new identity number answers 0, the old one -4
    await within(
      1000,
      async () => (await verify(server.port, ci, { Phone: "13900001111", Name: "王小明", IdCard: "420102198506124573" })).Result === "0",
    );
    const old = await verify(server.port, ci, { Phone: "13900001111", Name: "王小明", IdCard: "330106198001013417" });
    assert.equal(old.Result, "-4");
  });

  /** `records import FILE --json` that rejected rows: exit 3, the summary on stdout all the same. */
  const imported = async (file: string) => {
    const res = await sanyao(["records", "import", file, "--data", data, "--json"]);
    assert.equal(res.code, 3, res.stderr);
    return JSON.parse(res.stdout);
  };

  it("records import: rejected rows give exit code 3 and are listed in line order; a clean file exits 0", async () => {
    const dir = tempDir();
    const mixed = path.join(dir, "mixed.csv");
    fs.writeFileSync(
      mixed,
      `${[
        "phone,name,idcard",
        "13900005555,张3,110105199003072143",
        "13900006666,张三,110105199003072143,surplus",
        "1390000,张三,110105199003072143",
        "13900007777,王小明,330106198001013417",
        "13900008888,李小红,510104199208152233,more,fields",
      ].join("\n")}\n`,
    );
    const text = await sanyao(["records", "import", mixed, "--data", data]);
    assert.equal(text.code, 3, text.stderr);
    assert.deepEqual(
      text.stdout.split("\n").filter((l) => l.startsWith("  line ")),
      [
        "  line 2: name is malformed (digit)",
        "  line 3: 4 fields where the header has 3",
        "  line 4: phone is not a mainland mobile number",
        "  line 6: 5 fields where the header has 3",
      ],
    );
    const summary = await imported(mixed);
    assert.deepEqual(
      summary.rejections.map((r: { line: number }) => r.line),
      [2, 3, 4, 6],
    );
    const clean = path.join(dir, "clean.csv");
    fs.writeFileSync(clean, "phone,name,idcard\n13900007777,王小明,330106198001013417\n");
    assert.equal((await sanyao(["records", "import", clean, "--data", data])).code, 0);
    const help = await sanyao(["records", "import", "--help"]);
    assert.match(help.stdout, /Exit codes: 0 every row imported; 3 some rows rejected/);
  });

  it("a CSV without the required columns is refused before anything is imported", async () => {
    const file = path.join(tempDir(), "bad.csv");
    fs.writeFileSync(file, "mobile,name\n13800001234,张三\n");
    const res = await sanyao(["records", "import", file, "--data", data]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /Unknown CSV column\(s\): column 1 of 2\b/);
  });

  it("a CSV without a header is refused naming its columns by position, never quoting the first line's values", async () => {
    const file = path.join(tempDir(), "headless.csv");
    fs.writeFileSync(file, "13800001234,张三,110105199003072143\n");
    const res = await sanyao(["records", "import", file, "--data", data]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /Unknown CSV column\(s\): columns 1, 2, 3 of 3\b/);
    for (const value of ["13800001234", "张三", "110105199003072143"]) assert.ok(!res.stderr.includes(value), res.stderr);
  });

  it("verify signs a call with the demo key of --data and prints the Response", async () => {
    const ok = await sanyao([
      "verify",
      "--data",
      data,
      "--endpoint",
      server.url,
      "--phone",
      "13800001234",
      "--name",
      "张三",
      "--idcard",
      "110105199003072143",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).Result, "0");
    const detailed = await sanyao([
      "verify",
      "--data",
      data,
      "--endpoint",
      server.url,
      "--phone",
      "13800001234",
      "--name",
      "李四",
      "--idcard",
      "110105199003072143",
      "--detailed",
      "--language",
      "zh-CN",
    ]);
    const res = JSON.parse(detailed.stdout);
    assert.deepEqual([res.Result, res.Description, res.ResultDetail, res.Isp], ["-4", "信息不一致", "PhoneNameMismatch", "移动"]);
    const wrong = await sanyao(
      ["verify", "--endpoint", server.url, "--phone", "13800001234", "--name", "张三", "--idcard", "110105199003072143"],
      {
        SANYAO_SECRET_ID: "AKIDciFixedKey0001",
        SANYAO_SECRET_KEY: "wrong-secret-0000000000000",
      },
    );
    assert.equal(wrong.code, 1);
    assert.equal(JSON.parse(wrong.stdout).Error.Code, "AuthFailure.SignatureFailure");
  });

  it("verify refused for its signature names the command that says why, and that command runs as printed", async () => {
    const secretId = /SecretId: {2}(\S+)/.exec(server.banner)?.[1] ?? "";
    const secretKey = /SecretKey: (\S+)/.exec(server.banner)?.[1] ?? "";
    const refused = await sanyao([
      "verify",
      "--data",
      data,
      "--endpoint",
      server.url,
      "--secret-id",
      secretId,
      "--secret-key",
      `${secretKey} `, // a key copied with a space after it
      "--phone",
      "13800001234",
      "--name",
      "张三",
      "--idcard",
      "110105199003072143",
    ]);
    assert.equal(refused.code, 1);
    const { RequestId } = JSON.parse(refused.stdout) as { RequestId: string };
    const hint = /`(sanyao explain [^`]+)`/.exec(refused.stderr)?.[1] ?? "";
    assert.ok(hint.startsWith(`sanyao explain ${RequestId} `), `the RequestId in the hint: ${refused.stderr}`);
    const explained = await sanyao(hint.split(" ").slice(1));
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /Likely cause:\n.*trailing space/);
  });
});
