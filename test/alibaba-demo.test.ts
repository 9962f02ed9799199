/**
 * The demo table of docs/alibaba.md is run as written: every row through Alibaba's official SDK (V3 and V2 by turns)
 * or pop-core (Mobile2MetaVerify, GET and POST by turns) against the demo records, the Detail rows also as the Simple
 * actions and the Standard twins. Together the rows must reach every outcome of every Cloudauth action's table but the
 * account-level codes the page names.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { cloudauthScriptable } from "../src/cloudauth/scripted";
import { CLOUDAUTH_ACTIONS } from "../src/cloudauth/tariff";
import { chinaDate } from "../src/rules/precheck";
import { type AlibabaKey, cloudauth, fieldsOf, popCore } from "./helpers/alibaba";
import { describeBackends, repoRoot, startTestServer, type TestServer } from "./helpers/server";

interface Row {
  action: string;
  request: Record<string, string>;
  code: string;
  resultObject: Record<string, string> | undefined;
  note: string;
}

function demoRows(): Row[] {
  const page = fs.readFileSync(path.join(repoRoot, "docs", "alibaba.md"), "utf8");
  const table = page.split("<!-- alibaba-demo: begin -->")[1]?.split("<!-- alibaba-demo: end -->")[0] ?? "";
  const json = (cell: string) => (cell === "" ? undefined : (JSON.parse(cell.replace(/^`|`$/g, "")) as Record<string, string>));
  return table
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| action") && !line.startsWith("|---"))
    .map((line) => {
      const [action = "", request = "", code = "", result = "", note = ""] = line
        .slice(1, -1)
        .split(" | ")
        .map((c) => c.trim());
      return { action, request: json(request) ?? {}, code: code.replace(/`/g, ""), resultObject: json(result), note };
    });
}

/** The actions a row is run as, and the ResultObject each answers (the Simple actions have no SubCode). */
function targets(row: Row): Array<[string, Record<string, string> | undefined]> {
  const simple = row.resultObject && Object.fromEntries(Object.entries(row.resultObject).filter(([k]) => k !== "SubCode"));
  if (row.action === "Mobile3MetaDetailVerify") {
    return [
      ["Mobile3MetaDetailVerify", row.resultObject],
      ["Mobile3MetaDetailStandardVerify", row.resultObject],
      ["Mobile3MetaSimpleVerify", simple],
      ["Mobile3MetaSimpleStandardVerify", simple],
    ];
  }
  if (row.action === "Id2MetaVerify")
    return [
      ["Id2MetaVerify", row.resultObject],
      ["Id2MetaStandardVerify", row.resultObject],
    ];
  return [[row.action, row.resultObject]];
}

/** Answered to the account, not the request: not every action has a row for them. */
const ACCOUNT_CODES = ["410", "411", "412", "500"];

describeBackends("the demo table of docs/alibaba.md", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, backend);
    await server.addRecords(demoRecords(chinaDate(Date.now())));
  });
  after(() => server.close());

  async function send(key: AlibabaKey, action: string, request: Record<string, string>, turn: number) {
    if (action !== "Mobile2MetaVerify") {
      const res = await cloudauth(server.port, key, turn % 2 === 0 ? "v3" : "v2").call(action, fieldsOf(request));
      const object =
        res.resultObject &&
        Object.fromEntries(Object.entries(res.resultObject).map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), v]));
      return { code: res.code, resultObject: object };
    }
    try {
      const res = await popCore(server.port, key)(action, request, turn % 2 === 0 ? "GET" : "POST");
      return { code: String(res.Code), resultObject: { ...(res.ResultObject as Record<string, string>) } };
    } catch (err) {
      return { code: String((err as { code?: string }).code), resultObject: undefined };
    }
  }

  it("every row answers as written; the rows reach every outcome of every action", async () => {
    const rows = demoRows();
    assert.ok(rows.length >= 50, `${rows.length} rows read`);
    const key = await server.addAccount("alibaba-demo");
    const covered = new Set<string>();
    let turn = 0;
    for (const row of rows) {
      for (const [action, expected] of targets(row)) {
        turn++;
        let caller: AlibabaKey = key;
        if (row.note.includes("daily cap of 1") || row.note.includes("in arrears")) {
          const own = await server.addAccount(`${action}-${row.code}`);
          caller = own;
          if (row.note.includes("in arrears")) {
            const balance = (await server.installation.store.accounts.get(own.accountId))?.balance ?? 0;
            await server.installation.store.accounts.topUp(own.accountId, -balance - 1, "demo");
          } else {
            await server.installation.store.accounts.update(own.accountId, { dailyCap: 1 });
            await send(caller, action, row.request, turn);
          }
        }
        const got = await send(caller, action, row.request, turn);
        const what = `${action} ${JSON.stringify(row.request)} (${row.note})`;
        assert.equal(got.code, row.code, what);
        assert.deepEqual(got.resultObject, expected, what);
        const r = got.resultObject;
        covered.add(`${action} ${r ? ["200", r.BizCode, r.SubCode ?? r.TimeCode].filter(Boolean).join("/") : got.code}`);
      }
    }
    for (const action of CLOUDAUTH_ACTIONS) {
      for (const label of cloudauthScriptable(action) ?? []) {
        if (!ACCOUNT_CODES.includes(label)) assert.ok(covered.has(`${action} ${label}`), `no demo row answers ${action} ${label}`);
      }
    }
  });
});
