/** The edges of the `sanyao` command: bad files, a mistyped --data, where calls go, and one way to print things. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { verify } from "./helpers/call";
import { sanyao, serveProcess, within, type ServeProcess } from "./helpers/cli";
import { tempDir } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

describe("sanyao CLI edges", () => {
  const dir = tempDir();
  let data: string;
  let server: ServeProcess;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    data = tempDir();
    server = await serveProcess(["--data", data]);
    key = { secretId: /SecretId: {2}(\S+)/.exec(server.banner)![1]!, secretKey: /SecretKey: (\S+)/.exec(server.banner)![1]! };
  });
  after(() => server.stop());

  const run = (args: string[], env: Record<string, string> = {}) => sanyao([...args, "--data", data], env);
  const json = async (args: string[]) => {
    const res = await run([...args, "--json"]);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout);
  };
  /** `sanyao batch IN --out OUT` against this server with the demo key. */
  const batchHere = (input: string, out: string, ...more: string[]) =>
    run(["batch", input, "--out", out, "--endpoint", server.url, "--secret-id", key.secretId, "--secret-key", key.secretKey, ...more]);
  const requestsServed = () =>
    server
      .stdout()
      .split("\n")
      .filter((l) => l.includes('"msg":"request"')).length;

  /** 20 rows; on line 7 a quote opens and never closes. */
  const strayQuote = path.join(dir, "stray.csv");
  fs.writeFileSync(
    strayQuote,
    `${["phone,name,idcard", ...Array.from({ length: 20 }, (_, i) => `${i === 5 ? '"' : ""}1380000${String(i).padStart(4, "0")},张三,110105199003072143`)].join("\n")}\n`,
  );

  it("a quote that never closes: import and batch refuse the whole file, name the line, touch nothing", async () => {
    const imported = await run(["records", "import", strayQuote]);
    assert.notEqual(imported.code, 0);
    assert.match(imported.stderr, /line 7 is never closed.*Nothing was imported/);
    assert.doesNotMatch(imported.stderr, /13800000|张三/, "no value in the message");

    const served = requestsServed();
    const out = path.join(dir, "stray-out.csv");
    const batch = await batchHere(strayQuote, out);
    assert.notEqual(batch.code, 0);
    assert.match(batch.stderr, /line 7 is never closed.*Nothing was sent/);
    assert.equal(fs.existsSync(out), false);
    assert.equal(fs.existsSync(`${out}.journal`), false);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(requestsServed(), served);
  });

  it("a row with more fields than the header is reported by line, not cut short", async () => {
    const file = path.join(dir, "extra.csv");
    fs.writeFileSync(file, "phone,name,idcard\n13800001234,张三,110105199003072143\n13800001235,张三,110105199003072143,surplus\n");
    const res = await run(["records", "import", file, "--json"]);
    assert.equal(res.code, 3, "a row was rejected");
    const imported = JSON.parse(res.stdout);
    assert.equal(imported.imported, 1);
    assert.deepEqual(imported.rejections, [{ line: 3, reason: "4 fields where the header has 3" }]);
    const out = path.join(dir, "extra-out.csv");
    const batch = await batchHere(file, out, "--json");
    assert.deepEqual(JSON.parse(batch.stdout).malformed, [{ line: 3, reason: "4 fields where the header has 3" }]);
  });

  it("a directory where a file should be, and a --data that holds no installation, are refused plainly", async () => {
    const imported = await run(["records", "import", dir]);
    assert.equal(imported.code, 2);
    assert.match(imported.stderr, /is a directory/);
    assert.doesNotMatch(imported.stderr, /\n\s+at /, "no stack trace");

    const typo = path.join(dir, "no-such-data");
    for (const args of [
      ["accounts", "list"],
      ["usage"],
      ["records", "import", strayQuote],
      ["keys", "list", "--account", "1"],
      ["kms", "list-keys", "--account", "1"],
    ]) {
      const res = await sanyao([...args, "--data", typo]);
      assert.equal(res.code, 2, args.join(" "));
      assert.match(res.stderr, /No installation in .*no-such-data: start `sanyao serve/);
    }
    assert.equal(fs.existsSync(typo), false, "nothing was created");
  });

  it("SANYAO_CLOCK that is not a time is refused at start-up, naming the variable", async () => {
    const res = await sanyao(["serve", "--port", "0", "--data", tempDir()], { SANYAO_CLOCK: "yesterday" });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /SANYAO_CLOCK must be a time such as/);
  });

  it("SANYAO_ENDPOINT and host:port; nothing listening names the endpoint and how to change it", async () => {
    const hostPort = server.url.replace("http://", "");
    const viaEnv = await run(["verify", "--phone", ZHANG.Phone, "--name", ZHANG.Name, "--idcard", ZHANG.IdCard], {
      SANYAO_ENDPOINT: hostPort,
    });
    assert.equal(JSON.parse(viaEnv.stdout).Result, "0", viaEnv.stderr);
    const nowhere = await run([
      "verify",
      "--endpoint",
      "127.0.0.1:9",
      "--phone",
      ZHANG.Phone,
      "--name",
      ZHANG.Name,
      "--idcard",
      ZHANG.IdCard,
    ]);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /Nothing answers at http:\/\/127\.0\.0\.1:9 .*--endpoint URL or SANYAO_ENDPOINT/);

    const batch = await run(["batch", "examples/customers.csv", "--out", path.join(dir, "nowhere.csv"), "--endpoint", "127.0.0.1:9"]);
    assert.equal(batch.code, 1);
    assert.match(batch.stderr, /Nothing answers at http:\/\/127\.0\.0\.1:9/);
  });

  it("verify --action calls each FaceID action with the inputs it needs, and names an input that is missing", async () => {
    const call = async (...args: string[]) => {
      const res = await run(["verify", "--endpoint", server.url, ...args]);
      assert.equal(res.code, 0, res.stderr);
      return JSON.parse(res.stdout);
    };
    const zhang = ["--name", ZHANG.Name, "--idcard", ZHANG.IdCard];
    assert.equal((await call("--action", "PhoneVerificationCMCC", "--phone", ZHANG.Phone, ...zhang)).Result, "0");
    assert.equal((await call("--action", "PhoneVerificationCUCC", "--phone", ZHANG.Phone, ...zhang)).Result, "-13");
    assert.equal((await call("--action", "CheckPhoneAndName", "--mobile", ZHANG.Phone, "--name", "李四")).Result, "1");
    assert.equal((await call("--action", "IdCardVerification", ...zhang)).Result, "0");
    assert.equal((await call("--action", "MobileStatus", "--mobile", ZHANG.Phone)).StatusCode, 0);
    assert.equal((await call("--action", "MobileNetworkTimeVerification", "--phone", ZHANG.Phone)).Result, "-3");
    // the public-key scheme, the key read from --data or given; hashed inputs
    assert.equal((await call("--action", "MobileStatus", "--mobile", ZHANG.Phone, "--encrypt", "sm2")).Result, "0");
    assert.equal((await call("--action", "IdCardVerification", ...zhang, "--encrypt", "rsa", "--encrypt-fields", "Name")).Result, "0");
    assert.equal((await call("--phone", ZHANG.Phone, ...zhang, "--encrypt", "rsa")).Result, "0");
    const keys = await json(["encryption", "public-keys"]);
    assert.equal(
      (await call("--action", "PhoneVerificationCMCC", "--phone", ZHANG.Phone, ...zhang, "--encrypt", "sm2", "--public-key", keys.sm2))
        .Result,
      "0",
    );
    for (const mode of ["0", "1", "2", "3"]) {
      const res = await call("--action", "EncryptedPhoneVerification", "--hash-mode", mode, "--phone", `+86${ZHANG.Phone}`, ...zhang);
      assert.equal(res.Result, "0", `hash mode ${mode}`);
    }
    const refused = async (args: string[], message: RegExp) => {
      const res = await run(["verify", "--endpoint", server.url, ...args]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
    };
    await refused(["--action", "MobileStatus", "--mobile", ZHANG.Phone, "--encrypt", "aes"], /--encrypt takes kms, rsa or sm2/);
    await refused(
      ["--action", "MobileStatus", "--mobile", ZHANG.Phone, "--encrypt", "rsa", "--encrypt-fields", "Phone"],
      /lists Mobile for MobileStatus/,
    );
    await refused(["--phone", ZHANG.Phone, ...zhang, "--encrypt", "sm2"], /PhoneVerification takes --encrypt rsa or kms/);
    await refused(["--action", "MobileStatus", "--mobile", ZHANG.Phone, "--encrypt"], /--encrypt kms goes with PhoneVerification only/);
    await refused(["--phone", ZHANG.Phone, ...zhang, "--hash-mode", "1"], /--hash-mode goes with --action EncryptedPhoneVerification/);

    const missing = await run(["verify", "--endpoint", server.url, "--phone", ZHANG.Phone]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /PhoneVerification needs --name\./);
    const noMobile = await run(["verify", "--endpoint", server.url, "--action", "MobileStatus"]);
    assert.match(noMobile.stderr, /MobileStatus needs --phone \(or --mobile\)\./);
    const detailed = await run(["verify", "--endpoint", server.url, "--action", "MobileStatus", "--mobile", ZHANG.Phone, "--detailed"]);
    assert.match(detailed.stderr, /--detailed goes with PhoneVerification only/);
  });

  it("batch: no row answered exits non-zero; --dry-run does not claim a file it does not write", async () => {
    const file = path.join(dir, "all-malformed.csv");
    fs.writeFileSync(file, "phone,name,idcard\n,张三,110105199003072143\n13800001234,,110105199003072143\n");
    const none = await run(["batch", file, "--out", path.join(dir, "none.csv"), "--endpoint", server.url]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no row got an answer/);

    const out = path.join(dir, "dry.csv");
    const dry = await run(["batch", "examples/customers.csv", "--out", out, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run: nothing sent, no file written/);
    assert.doesNotMatch(dry.stdout, /→/);
    assert.equal(fs.existsSync(out), false);
  });

  it("--json prints a balance one way everywhere: a decimal string in CNY", async () => {
    const created = await json(["accounts", "create", "--name", "money"]);
    const { accounts } = await json(["accounts", "list"]);
    const listed = accounts.find((a: { accountId: string }) => a.accountId === created.accountId);
    const shown = await json(["accounts", "show", created.accountId]);
    const set = await json(["accounts", "set", created.accountId, "--daily-cap", "5"]);
    const topped = await json(["accounts", "top-up", created.accountId, "0.50"]);
    assert.deepEqual([created.balance, listed.balance, shown.balance, set.balance], ["1000.00", "1000.00", "1000.00", "1000.00"]);
    assert.equal(topped.balance, "1000.50");
  });

  it("a usage error prints the error and one usage line, not the whole help", async () => {
    const res = await sanyao(["verify", "--action", "PhoneVerificationXX", "--phone", ZHANG.Phone]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /argument 'PhoneVerificationXX' is invalid\. Allowed choices are PhoneVerification, /);
    assert.match(res.stderr, /Usage: sanyao verify \[options\]/);
    assert.doesNotMatch(res.stderr, /Options:|--detailed/);
  });

  it("keys enable brings a disabled key back; kms list-keys lists an account's keys", async () => {
    const account = await json(["accounts", "create", "--name", "keys"]);
    const k = await json(["keys", "create", "--account", account.accountId]);
    await json(["keys", "disable", k.secretId]);
    await within(10_000, async () => (await verify(server.port, k, ZHANG)).Error?.Code === "AuthFailure.SecretIdNotFound");
    assert.deepEqual(await json(["keys", "enable", k.secretId]), { secretId: k.secretId, enabled: true });
    await within(10_000, async () => (await verify(server.port, k, ZHANG)).Result === "0");
    assert.equal((await run(["keys", "enable", "AKIDnoSuchKey000"])).code, 2);

    assert.deepEqual(await json(["kms", "list-keys", "--account", account.accountId]), { keys: [] });
    const created = await json(["kms", "create-key", "--account", account.accountId, "--alias", "fields"]);
    const { keys } = await json(["kms", "list-keys", "--account", account.accountId]);
    assert.deepEqual(
      keys.map((x: { keyId: string; alias: string; state: string }) => [x.keyId, x.alias, x.state]),
      [[created.keyId, "fields", "Enabled"]],
    );
  });
});
