/** The case table of identity-rules.md §6 through the HTTP API (zh-CN, so Isp shows the carrier names). */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { verify, type Key } from "./helpers/call";
import { fixtures, startTestServer, type TestServer } from "./helpers/server";

interface Case {
  no: number;
  case: string;
  name: string;
  idCard: string;
  phone: string;
  expected: string;
  isp: string;
}

const { cases } = JSON.parse(fs.readFileSync(path.join(fixtures, "identity-rules-cases.json"), "utf8")) as { cases: Case[] };

describe("identity-rules.md §6 through PhoneVerification", () => {
  let server: TestServer;
  let key: Key;
  before(async () => {
    server = await startTestServer();
    key = await server.addAccount();
  });
  after(() => server.close());

  it("covers all 66 cases", () => assert.equal(cases.length, 66));

  for (const c of cases) {
    // No records are loaded: a request that passes every pre-check reaches the source and gets -9.
    const expected = c.expected === "valid" ? "-9" : c.expected;
    it(`#${c.no} ${c.case} → ${expected} ${c.isp || "(empty Isp)"}`, async () => {
      const res = await verify(server.port, key, { Phone: c.phone, Name: c.name, IdCard: c.idCard }, { language: "zh-CN" });
      assert.equal(res.Result, expected);
      assert.equal(res.Isp, c.isp);
    });
  }
});
