/**
 * The CLI and the operations API's tokens: `admin-token create --read-only` makes a token the next start reads,
 * which sees everything and changes nothing, from curl or from the CLI; the scenario commands go through the
 * running server; a top-up's note reaches the API.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { tempDir } from "./helpers/server";

describe("the CLI with the operations API's tokens", () => {
  const data = tempDir();
  let server: ServeProcess;
  let readOnly = "";
  const cli = (args: string[]) => sanyao([...args, "--data", data]);

  before(async () => {
    // the first start makes the installation and the operator token; the read-only token is made apart, then read at the next start
    await (await serveProcess(["--data", data, "--no-demo"])).stop();
    const made = await cli(["admin-token", "create", "--read-only", "--json"]);
    assert.equal(made.code, 0, made.stderr);
    const printed = JSON.parse(made.stdout) as { readOnlyToken: string; file: string };
    readOnly = printed.readOnlyToken;
    assert.equal(printed.file, path.join(data, "admin-token-read-only"));
    assert.equal(fs.statSync(printed.file).mode & 0o777, 0o600);
    server = await serveProcess(["--data", data, "--no-demo"]);
  });
  after(() => server?.stop());

  it("a read-only token is made once, never over another", async () => {
    const again = await cli(["admin-token", "create", "--read-only"]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /admin-token-read-only exists already; a token is never overwritten/);
    assert.match((await sanyao(["admin-token", "create", "--help"])).stdout, /--read-only/);
  });

  it("the read-only token reads and is refused every change; the operator token (the data directory's) changes", async () => {
    const get = await fetch(`${server.url}/_sanyao/accounts`, { headers: { authorization: `Bearer ${readOnly}` } });
    assert.equal(get.status, 200);
    const post = await fetch(`${server.url}/_sanyao/accounts`, {
      method: "POST",
      headers: { authorization: `Bearer ${readOnly}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "not allowed" }),
    });
    assert.equal(post.status, 403);

    const account = JSON.parse((await cli(["accounts", "create", "--name", "cli", "--json"])).stdout) as { accountId: string };
    const endpoint = ["--endpoint", server.url];
    const refused = await cli(["scenarios", "add", ...endpoint, "--token", readOnly, "--account", account.accountId, "--hang"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /The read-only token sees everything and changes nothing/);
    const added = await cli(["scenarios", "add", ...endpoint, "--account", account.accountId, "--hang", "--times", "1", "--json"]);
    assert.equal(added.code, 0, added.stderr);
    const listed = await cli(["scenarios", "list", ...endpoint, "--token", readOnly]);
    assert.match(listed.stdout, new RegExp(`${account.accountId}\\s+\\(all calls\\)\\s+hang\\s+1`));
    assert.match((await cli(["scenarios", "clear", ...endpoint])).stdout, /^Removed 1 scenario\.$/m);
  });

  it("scenario commands need a running server and say where they looked", async () => {
    const res = await cli(["scenarios", "list", "--endpoint", "http://127.0.0.1:9"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /Nothing answers at http:\/\/127\.0\.0\.1:9/);
  });

  it("a top-up's note is kept and listed by the operations API", async () => {
    const account = JSON.parse((await cli(["accounts", "create", "--name", "noted", "--json"])).stdout) as { accountId: string };
    const res = await cli(["accounts", "top-up", account.accountId, "25.50", "--note", "invoice 7", "--json"]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { accountId: account.accountId, balance: "1025.50" });
    const listed = await fetch(`${server.url}/_sanyao/accounts/${account.accountId}/top-ups`, {
      headers: { authorization: `Bearer ${readOnly}` },
    });
    const { topUps } = (await listed.json()) as { topUps: Array<{ amount: string; note: string }> };
    assert.deepEqual(
      topUps.map((t) => [t.amount, t.note]),
      [["25.50", "invoice 7"]],
    );
  });
});
