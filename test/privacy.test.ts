/**
 * Every raw name, identity number and phone number the suite sends or imports here is searched for in everything
 * the store holds (the data directory's files; every row of every PostgreSQL table) and in the captured logs.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, it } from "node:test";
import { verify, type Key } from "./helpers/call";
import { describeBackends, startTestServer, tempDir, type TestServer } from "./helpers/server";

const PEOPLE = [
  { phone: "13800001234", name: "张三", idcard: "110105199003072143" },
  { phone: "13900005678", name: "买买提·吐尔逊", idcard: "32010219881115306X" },
  { phone: "18600002468", name: "Wei Xiaobao", idcard: "440305200002295620" },
];
const PROBES = [
  { Phone: "13700007654", Name: "欧阳娜娜", IdCard: "370202198810093127" },
  { Phone: "1370000765", Name: "张3", IdCard: "110105199003072140" },
  { Phone: "13500009999", Name: "吴十", IdCard: "110108199502030043" },
];

describeBackends("no personal data at rest or in logs", (backend) => {
  let server: TestServer;
  let key: Key;
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount();
    await server.addRecords([...PEOPLE, { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" }]);
    const csv = path.join(tempDir(), "import.csv");
    fs.writeFileSync(csv, "phone,name,idcard\n13600001111,司马光,420102198506124573\n13600002222,张3,110105199003072143\n");
    const res = await server.cli(["records", "import", csv]);
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stdout, /司马光|13600001111|420102198506124573/);
    for (const p of PEOPLE) {
      await verify(server.port, key, { Phone: p.phone, Name: p.name, IdCard: p.idcard, VerifyMode: "1" });
      await verify(server.port, key, { Phone: `+86 ${p.phone}`, Name: "别人", IdCard: p.idcard, VerifyMode: "1" });
    }
    for (const p of PROBES) await verify(server.port, key, p, { language: "zh-CN" });
    await verify(server.port, key, { ...PROBES[0], Extra: PROBES[0]!.Phone });
  });
  after(() => server.close());

  it("the suite really made its calls and logged them", () => {
    assert.ok(server.logs.length >= PEOPLE.length * 2 + PROBES.length + 1);
    assert.ok(
      server.logs.some((l) => l.includes("138****1234")),
      "masked phones are logged",
    );
  });

  const raw = [
    ...PEOPLE.flatMap((p) => [p.phone, p.name, p.idcard]),
    ...PROBES.flatMap((p) => [p.Phone, p.Name, p.IdCard]),
    "司马光",
    "13600001111",
    "420102198506124573",
    "别人",
  ];

  it("none of the raw values is anywhere in the store (data directory files, or every PostgreSQL row)", async () => {
    const stored = await server.storedData();
    assert.ok(stored.length > 1000, "the store was read");
    for (const value of raw) assert.equal(stored.includes(Buffer.from(value)), false, `${value} found in the store`);
  });

  it("none of the raw values is in the logs", () => {
    const text = server.logs.join("\n");
    for (const value of raw) assert.equal(text.includes(value), false, `${value} found in the logs`);
  });
});
