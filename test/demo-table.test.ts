/**
 * The demo table of docs/getting-started.md is run as written: every row's request through the official SDK against the
 * demo records, answering the row's Result (and the StatusCode, Range or Isp its note names). Together the rows
 * must cover every Result of every action's table, but the two codes the page says are never answered.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { codeFor, RESULT_TABLES } from "../src/faceid/results";
import { chinaDate } from "../src/rules/precheck";
import { readmeDemoRows } from "./helpers/readme";
import { faceidSdk } from "./helpers/sdk";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";

const NEVER_ANSWERED = ["CheckPhoneAndName -2", "IdCardVerification -6"];
/** Each action's codes for its source away and its daily cap reached, as faceid-family.md §3 names them. */
const SIGNAL_CODES: Record<string, { busy: string; dailyCap?: string }> = {
  PhoneVerification: { busy: "-11", dailyCap: "-12" },
  PhoneVerificationCMCC: { busy: "-11" },
  PhoneVerificationCTCC: { busy: "-11" },
  PhoneVerificationCUCC: { busy: "-11" },
  EncryptedPhoneVerification: { busy: "-11" },
  CheckPhoneAndName: { busy: "-3", dailyCap: "-6" },
  IdCardVerification: { busy: "-4", dailyCap: "-7" },
  MobileStatus: { busy: "-3", dailyCap: "-4" },
  MobileNetworkTimeVerification: { busy: "-4", dailyCap: "-5" },
};

describeBackends("the demo table of docs/getting-started.md", (backend) => {
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
    let busy = 0;
    let capped = 0;
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
      if (row.result === SIGNAL_CODES[row.action]!.busy) busy++;
      if (row.result === SIGNAL_CODES[row.action]!.dailyCap) capped++;
    }
    // The operators' metrics read each action's own codes as a source error and a daily refusal.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(Number(/sanyao_source_errors_total (\d+)/.exec(metrics)?.[1]), busy, "source errors");
    assert.equal(Number(/sanyao_limit_refusals_total\{limit="daily"\} (\d+)/.exec(metrics)?.[1]), capped, "daily refusals");
    assert.ok(busy >= 6 && capped >= 5, `${busy} busy rows, ${capped} capped rows`);
    for (const [action, table] of Object.entries(RESULT_TABLES)) {
      const codes = SIGNAL_CODES[action]!;
      assert.equal(codeFor(table, "source-failure"), codes.busy, `${action}: the code of a source away`);
      assert.equal(codeFor(table, "daily-cap"), codes.dailyCap, `${action}: the code of a daily cap reached`);
      for (const code of Object.keys(table)) {
        // The three carrier actions share one table and one set of rows.
        const key = `${action.replace(/CTCC|CUCC/, "CMCC")} ${code}`;
        if (!NEVER_ANSWERED.includes(key)) assert.ok(covered.has(key), `${key} has a row`);
      }
    }
  });
});
