/**
 * Values the installation keeps as JSON (the upstream settings, the scenarios, the encryption key pairs) are read
 * back through guards: one damaged in the store — by hand, by a bad restore — is a clear error that names it and
 * says what to do, never a crash on a field that came back undefined, nor a value used half-read.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { callTc3 } from "./helpers/call";
import { startTestServer, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

describe("stored JSON damaged in the store", () => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: "stored-data-test-token" });
    key = await server.addAccount("stored");
  });
  after(() => server.close());

  /** Changes one stored value behind the installation's back, as a hand edit or a bad restore would. */
  const sql = (statement: string, ...params: unknown[]) => {
    const db = new Database(path.join(server.dataDir, "sanyao.db"));
    try {
      return db.prepare(statement).run(...params).changes;
    } finally {
      db.close();
    }
  };

  it("the upstream settings: `upstream show` and a FaceID call name the damage and the fix", async () => {
    const set = await server.cli([
      ...["upstream", "set", "--url", "http://127.0.0.1:9", "--secret-id", "AKIDcompany0000000000"],
      ...["--secret-key", "company-secret-key-000000"],
    ]);
    assert.equal(set.code, 0, set.stderr);
    // the stored settings without their SecretId
    assert.equal(sql("UPDATE meta SET value = json_remove(value, '$.secretId') WHERE key = 'upstream/v1'"), 1);

    const shown = await server.cli(["upstream", "show"]);
    assert.equal(shown.code, 1, shown.stdout);
    assert.match(
      shown.stderr,
      /The upstream \(sanyao upstream set\) is damaged in the store \(secretId is not a string\)\. Set it again with `sanyao upstream set`/,
    );
    assert.doesNotMatch(shown.stderr, /undefined/);

    // the server has not read the settings yet (no FaceID call so far): this call reads them as damaged
    const answer = await callTc3(server.port, key, ZHANG);
    assert.equal(answer.json.Response.Error?.Code, "InternalError");
    const logged = server.logs.filter((l) => l.includes(answer.json.Response.RequestId));
    assert.ok(
      logged.some((l) => l.includes("is damaged in the store (secretId is not a string)")),
      `the log says what is damaged: ${logged.join("\n")}`,
    );
    assert.equal((await server.cli(["upstream", "clear"])).code, 0);
  });

  it("a scenario: `scenarios list` names the damaged one and how to remove it; removing it works", async () => {
    const added = await server.cli([
      "scenarios",
      "add",
      "--account",
      key.accountId,
      "--action",
      "PhoneVerification",
      "--result",
      "-4",
      "--json",
    ]);
    assert.equal(added.code, 0, added.stderr);
    const id = (JSON.parse(added.stdout) as { scenario: { id: string } }).scenario.id;
    assert.equal(sql("UPDATE scenarios SET spec = ? WHERE id = ?", JSON.stringify({ accountId: key.accountId, probability: 1 }), id), 1);

    const listed = await server.cli(["scenarios", "list"]);
    assert.equal(listed.code, 1, listed.stdout);
    assert.match(
      listed.stderr,
      new RegExp(
        `Scenario ${id} is damaged in the store \\(effect is not an object\\)\\. Remove it with \`sanyao scenarios remove ${id}\``,
      ),
    );
    assert.equal((await server.cli(["scenarios", "remove", id])).code, 0);
    assert.equal((await server.cli(["scenarios", "list"])).code, 0);
  });

  it("the encryption key pairs: `encryption public-keys` names the damage", async () => {
    const before = await server.cli(["encryption", "public-keys", "--json"]);
    assert.equal(before.code, 0, before.stderr);
    assert.equal(sql("UPDATE meta SET value = ? WHERE key = 'envelope-keys/v1'", JSON.stringify({ rsa: 42 })), 1);
    const shown = await server.cli(["encryption", "public-keys"]);
    assert.equal(shown.code, 1, shown.stdout);
    assert.match(
      shown.stderr,
      /The installation's encryption key pairs \(envelope-keys\/v1\) is damaged in the store \(rsa is not a string\)/,
    );
  });
});
