/**
 * The identity number's daily cap in md5 mode: a Mobile3Meta md5 call whose digests are not the record's counts the
 * identity number asked about (by its digest), not the record holder's, so probing one person's identity number across
 * many numbers is capped as it is in plaintext (a review of issue 23 found it never was).
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";
import { cloudauth, fieldsOf, md5 } from "./helpers/alibaba";

function idNumber(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((n, d, i) => n + Number(d) * (weights[i] ?? 0), 0);
  return first17 + ("10X98765432"[sum % 11] ?? "");
}

const VICTIM = { name: "李明", idcard: idNumber("33010619800101341") };
const HOLDERS = [1, 2, 3, 4].map((i) => ({ phone: `1380000${1000 + i}`, name: "王五", idcard: idNumber(`1101051990030${7000 + i}`) }));

describeBackends("the identity number's daily cap in md5 mode", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_DAILY_CAP: "2" }, backend);
    await server.addRecords(HOLDERS);
  });
  after(() => server.close());

  it("normal mode: the third number tried with the same identity number is 403", async () => {
    const client = cloudauth(server.port, await server.addAccount("plain"), "v3");
    const codes: string[] = [];
    for (const h of HOLDERS.slice(0, 3)) {
      const r = await client.call(
        "Mobile3MetaSimpleVerify",
        fieldsOf({ ParamType: "normal", Mobile: h.phone, IdentifyNum: VICTIM.idcard, UserName: VICTIM.name }),
      );
      codes.push(r.code === "200" ? `200/${r.resultObject?.bizCode}` : r.code);
    }
    assert.deepEqual(codes, ["200/2", "200/2", "403"]);
  });

  it("md5 mode: the same probe should be capped alike", async () => {
    const client = cloudauth(server.port, await server.addAccount("hashed"), "v3");
    const codes: string[] = [];
    for (const h of HOLDERS.slice(0, 3)) {
      const r = await client.call("Mobile3MetaSimpleVerify", {
        paramType: "md5",
        mobile: md5(h.phone),
        identifyNum: md5(VICTIM.idcard),
        userName: md5(VICTIM.name),
      });
      codes.push(r.code === "200" ? `200/${r.resultObject?.bizCode}` : r.code);
    }
    assert.deepEqual(codes, ["200/2", "200/2", "403"]);
  });
});
