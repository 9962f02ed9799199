/**
 * The README's table of demo calls is run as written: every row's request through the official SDK against the
 * demo records, answering the row's Result (and the StatusCode, Range or Isp its note names). Together the rows
 * must cover every Result of every action's table, but the two codes the README says are never answered.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { RESULT_TABLES } from "../src/faceid/results";
import { chinaDate } from "../src/rules/precheck";
import { readmeDemoRows } from "./helpers/readme";
import { faceidSdk } from "./helpers/sdk";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const NEVER_ANSWERED = ["CheckPhoneAndName -2", "IdCardVerification -6"];

describeBackends("the README's demo table", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, backend);
    await server.addRecords(demoRecords(chinaDate(Date.now())));
  });
  after(() => server.close());

  const client = (key: { secretId: string; secretKey: string }) => faceidSdk(server.port, key);

  it("every row answers as written; the rows cover every Result of every action", async () => {
    const rows = readmeDemoRows();
    assert.ok(rows.length > 50, `${rows.length} rows read`);
    const sdk = client(await server.addAccount("demo-table"));
    const covered = new Set<string>();
    for (const row of rows) {
      let answer: Record<string, unknown>;
      if (row.note.includes("daily cap of 1")) {
        const capped = await server.addAccount(`cap-${row.action}`);
        await server.installation.store.accounts.update(capped.accountId, { dailyCap: 1 });
        await client(capped)[row.action](row.request);
        answer = await client(capped)[row.action](row.request);
      } else {
        answer = await sdk[row.action](row.request);
      }
      const what = `${row.action} ${JSON.stringify(row.request)}`;
      assert.equal(answer.Result, row.result, what);
      const status = /`StatusCode` (\d+)/.exec(row.note);
      if (status) assert.equal(answer.StatusCode, Number(status[1]), what);
      const range = /`(\[\d+,(?:\d+\)|\+\)))`/.exec(row.note);
      if (range) assert.equal(answer.Range, range[1], what);
      if (row.note.includes("`Isp` `telecom`")) assert.equal(answer.Isp, "telecom", what);
      covered.add(`${row.action.replace(/CTCC|CUCC/, "CMCC")} ${row.result}`);
    }
    for (const [action, table] of Object.entries(RESULT_TABLES)) {
      for (const code of Object.keys(table)) {
        // The three carrier actions share one table and one set of rows.
        const key = `${action.replace(/CTCC|CUCC/, "CMCC")} ${code}`;
        if (!NEVER_ANSWERED.includes(key)) assert.ok(covered.has(key), `${key} has a row`);
      }
    }
  });
});
