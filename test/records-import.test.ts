/**
 * `sanyao records import` of files large enough for the bulk path (worker threads, staging, one merge), on both
 * backends: a refused file applies nothing, an import killed before its end applies nothing, a re-import
 * replaces, the rows answer requests, and the progress callback follows the bytes read.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, it } from "node:test";
import { loadConfig } from "../src/app/config";
import { openInstallation } from "../src/app/installation";
import { defaultPolicy } from "../src/rules/policy";
import { chinaDate } from "../src/rules/precheck";
import { idCheckChar } from "../src/rules/idcard";
import { loadRuleTables } from "../src/rules/tables";
import { importRecordsFile } from "../src/sources/import";
import { hexDigest } from "../src/sources/digests";
import { PACKED, PACKED_RECORD_BYTES, type PackedRecords } from "../src/store/packed-records";
import { md5, popCore } from "./helpers/alibaba";
import { callTc3, verify, verifyByMd5 } from "./helpers/call";
import { BIN } from "./helpers/cli";
import { describeBackends, startTestServer, tempDir, type TestServer } from "./helpers/server";

/** 40,000 rows, about 1.6 MB: past the size from which an import starts worker threads. */
const ROWS = 40_000;

function person(i: number): { phone: string; name: string; idcard: string } {
  const body = `110105${1950 + (i % 50)}${String(1 + (i % 12)).padStart(2, "0")}${String(1 + (i % 28)).padStart(2, "0")}${String(i % 1000).padStart(3, "0")}`;
  return { phone: `1380${String(i).padStart(7, "0")}`, name: "王小明", idcard: body + idCheckChar(body) };
}

function csv(file: string, rows: number, line: (i: number) => string = (i) => Object.values(person(i)).join(",")): string {
  fs.writeFileSync(file, `phone,name,idcard,status\n${Array.from({ length: rows }, (_, i) => line(i)).join("\n")}\n`);
  return file;
}

describeBackends("records import in bulk", (backend) => {
  let server: TestServer;
  let key: { secretId: string; secretKey: string };
  const dir = tempDir();
  const good = csv(path.join(dir, "good.csv"), ROWS);
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount();
  });
  after(() => server.close());

  const answer = async (i: number, name = person(i).name) =>
    (await verify(server.port, key, { Phone: person(i).phone, Name: name, IdCard: person(i).idcard })).Result;
  const importJson = async (file: string) => {
    const res = await server.cli(["records", "import", file, "--json"]);
    return { code: res.code, stderr: res.stderr, summary: res.code === 2 ? undefined : JSON.parse(res.stdout) };
  };

  it("a file refused whole names the line and applies nothing, not even the rows above it", async () => {
    const unknown = await answer(ROWS - 1);
    assert.notEqual(unknown, "0");
    // the quote opens on line 30,002 (after the header and 30,000 good rows) and never closes
    const stray = csv(path.join(dir, "stray.csv"), ROWS, (i) =>
      i === 30_000 ? `"${Object.values(person(i)).join(",")}` : Object.values(person(i)).join(","),
    );
    const refused = await importJson(stray);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /line 30002 is never closed.*Nothing was imported/);
    assert.doesNotMatch(refused.stderr, /1380|王小明/, "no value in the message");
    assert.equal(await answer(0), unknown, "the first row of the refused file was not applied");

    const first = await importJson(good);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual([first.summary.read, first.summary.imported, first.summary.replaced, first.summary.rejected], [ROWS, ROWS, 0, 0]);
    assert.equal(await answer(0), "0");
    assert.equal(await answer(ROWS - 1), "0");
    assert.equal(await answer(ROWS - 1, "李小红"), "-4");
    // hashed inputs find the record by the digest rows the bulk path wrote, in each digest algorithm
    for (const [mode, algorithm] of [
      ["1", "md5"],
      ["2", "sha256"],
      ["3", "sm3"],
    ] as const) {
      const p = person(ROWS - 2);
      const hashed = { Phone: hexDigest(algorithm, p.phone), Name: hexDigest(algorithm, p.name), IdCard: hexDigest(algorithm, p.idcard) };
      const call = async (params: Record<string, string>) =>
        (await callTc3(server.port, key, { ...params, EncryptionMode: mode }, { action: "EncryptedPhoneVerification" })).json.Response
          .Result;
      assert.equal(await call(hashed), "0", algorithm);
      assert.equal(await call({ ...hashed, Name: hexDigest(algorithm, "李小红") }), "-4", algorithm);
    }
    // and by the name digest the bulk path put on the md5 row (Cloudauth's Mobile2MetaVerify in md5 mode)
    const twoMeta = async (i: number, name: string) =>
      (
        (await popCore(server.port, key)(
          "Mobile2MetaVerify",
          { ParamType: "md5", Mobile: md5(person(i).phone), UserName: md5(name) },
          "POST",
        )) as { ResultObject: { BizCode: string } }
      ).ResultObject.BizCode;
    assert.deepEqual(
      [await twoMeta(0, person(0).name), await twoMeta(ROWS - 2, person(ROWS - 2).name), await twoMeta(5, "李小红")],
      ["1", "1", "2"],
    );
  });

  it("a re-import replaces: the last row of a phone in the file wins, rejected rows are listed in line order", async () => {
    const again = csv(path.join(dir, "again.csv"), ROWS + 1, (i) => {
      if (i === 7) return `${person(7).phone},${person(7).name},${person(7).idcard},busy`;
      if (i === 11) return "13800000011,张3,110105199003072143,";
      if (i === ROWS) return `${person(7).phone},${person(7).name},${person(7).idcard},suspended`;
      return `${Object.values(person(i)).join(",")},`;
    });
    const res = await importJson(again);
    assert.equal(res.code, 3, "a row was rejected");
    assert.deepEqual([res.summary.read, res.summary.imported, res.summary.replaced, res.summary.rejected], [ROWS + 1, ROWS, ROWS, 1]);
    assert.deepEqual(
      res.summary.rejections.map((r: { line: number }) => r.line),
      [13],
    );
    // line ROWS + 2 came after line 9: the record is suspended (-4 whatever is sent), not busy (-11)
    assert.equal(await answer(7), "-4");
    assert.equal(await answer(8), "0");
    // and the digest rows, rebuilt apart from the records (PostgreSQL: on a connection of their own), lead to it too
    assert.deepEqual(
      [(await verifyByMd5(server.port, key, person(7))).Result, (await verifyByMd5(server.port, key, person(8))).Result],
      ["-4", "0"],
    );
  });

  it("a line over 64 KiB refuses the file, naming the line and quoting nothing of it", async () => {
    const long = path.join(dir, "long.csv");
    const rows = Array.from({ length: 10 }, (_, i) => Object.values(person(ROWS + 500 + i)).join(","));
    // line 7 of the file: 13900001234 repeated, no line feed for 4 MiB (a record's digits, not to be echoed)
    rows.splice(5, 0, "13900001234".repeat(400_000));
    fs.writeFileSync(long, `phone,name,idcard\n${rows.join("\n")}\n`);
    const res = await importJson(long);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /line 7 is longer than 64 KiB/);
    assert.ok(!res.stderr.includes("13900001234"), "the line's content is not quoted");
    assert.notEqual(await answer(ROWS + 500), "0", "nothing was imported");
    const tail = path.join(dir, "tail.csv");
    fs.writeFileSync(tail, `phone,name,idcard\n${rows.slice(0, 5).join("\n")}\n${"1".repeat(3 << 20)}`);
    const last = await importJson(tail);
    assert.equal(last.code, 2, last.stderr);
    assert.match(last.stderr, /line 7 is longer than 64 KiB/, "a last line without a line feed too");
    // a small file (read whole with its header, in one chunk) of ordinary lines is no long line
    const small = path.join(dir, "small.csv");
    fs.writeFileSync(small, `phone,name,idcard\n${rows.slice(0, 5).join("\n")}\n`);
    assert.equal((await importJson(small)).code, 0);
  });

  it("an import killed before its end applies nothing", async () => {
    const fresh = csv(path.join(dir, "fresh.csv"), 200_000, (i) => Object.values(person(ROWS + 1000 + i)).join(","));
    const size = fs.statSync(fresh).size;
    const env = { ...process.env, ...server.env, ...(backend === "sqlite" && { SANYAO_DATA_DIR: server.dataDir }) };
    const child = spawn(process.execPath, [BIN, "records", "import", fresh, "--json"], { env, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // Killed once it has read the file through once (the quote check) and half of it again (the import):
    // rows are being hashed and staged, and the merge waits for the whole file.
    const readBytes = () => Number(/rchar: (\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/io`, "utf8"))?.[1] ?? 0);
    while (readBytes() < size * 1.5) {
      assert.equal(child.exitCode, null, "the import ended before it could be killed mid-way");
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    assert.equal(await exited, null);
    assert.notEqual(await answer(ROWS + 1000), "0");
    const after = await importJson(fresh);
    assert.equal(after.code, 0, after.stderr);
    assert.equal(after.summary.replaced, 0, "no row of the killed import had been applied");
    assert.equal(await answer(ROWS + 1000), "0");
  });

  for (const [kind, file] of [
    ["plain CSV", good],
    // read through the CSV parser: its rows are taken from a stream opened once the load asks for them
    ["quoted CSV", csv(path.join(dir, "good-quoted.csv"), ROWS, (i) => `"${Object.values(person(i)).join('","')}"`)],
  ] as const) {
    it(`progress is reported as the file is read, up to its size (${kind})`, async () => {
      const env = { ...server.env, ...(backend === "sqlite" && { SANYAO_DATA_DIR: server.dataDir }) };
      const inst = await openInstallation(loadConfig({}, env), { create: false });
      const seen: number[] = [];
      try {
        const summary = await importRecordsFile(file, inst.store.records, inst.keyring, {
          tables: loadRuleTables(),
          policy: defaultPolicy,
          todayChina: chinaDate(Date.now()),
          onProgress: (bytes) => seen.push(bytes),
        });
        assert.equal(summary.imported, ROWS);
      } finally {
        await inst.close();
      }
      assert.ok(seen.length >= 2, `progress reported ${seen.length} times`);
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        seen,
        "never backwards",
      );
      assert.equal(seen.at(-1), fs.statSync(file).size);
    });
  }

  it("two loads at once on one store: the failing one applies nothing, the other loads exactly its own rows", async () => {
    const env = { ...server.env, ...(backend === "sqlite" && { SANYAO_DATA_DIR: server.dataDir }) };
    const inst = await openInstallation(loadConfig({}, env), { create: false });
    /** `count` rows of random hashes (status active, carrier mobile) */
    const batch = (count: number): PackedRecords => {
      const packed = Buffer.alloc(count * PACKED_RECORD_BYTES);
      for (let i = 0; i < count; i++) {
        const at = i * PACKED_RECORD_BYTES;
        randomBytes(PACKED.carrier).copy(packed, at);
        packed[at + PACKED.carrier] = 1;
        randomBytes(PACKED.digestBytes).copy(packed, at + PACKED.nameDigest);
      }
      return { packed, count };
    };
    /** a staged row's digest key of pair `d`, and its name digest */
    const digestOf = (b: PackedRecords, i: number, d: number) => {
      const at = i * PACKED_RECORD_BYTES;
      const key = at + PACKED.digests + d * 2 * PACKED.digestBytes;
      return {
        key: b.packed.subarray(key, key + PACKED.digestBytes),
        name: b.packed.subarray(at + PACKED.nameDigest, at + PACKED.nameDigest + PACKED.digestBytes),
      };
    };
    const phones = (b: PackedRecords) =>
      Array.from({ length: b.count }, (_, i) => b.packed.subarray(i * PACKED_RECORD_BYTES, i * PACKED_RECORD_BYTES + 32));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const [good1, good2, doomed] = [batch(300), batch(300), batch(300)];
    try {
      // the good load stages its first batch, the failing one starts staging, then the good one goes on
      const good = inst.store.records.load(
        (async function* () {
          yield good1;
          await sleep(150);
          yield good2;
        })(),
      );
      const failing = inst.store.records.load(
        (async function* () {
          await sleep(30);
          yield doomed;
          await sleep(300);
          throw new Error("the file went away");
        })(),
      );
      await assert.rejects(failing, /the file went away/);
      assert.deepEqual(await good, { loaded: 600, replaced: 0 });
      for (const phone of [...phones(good1), ...phones(good2)]) assert.ok(await inst.store.records.find(phone), "a good row is there");
      // the name digest lands on the md5 row only (a load small beside the table: the merge, not the rebuild)
      for (const i of [0, 299]) {
        const md5Row = digestOf(good2, i, PACKED.nameDigestOf);
        assert.deepEqual((await inst.store.records.findByDigest(md5Row.key))?.nameDigest, md5Row.name);
        const other = await inst.store.records.findByDigest(digestOf(good2, i, PACKED.nameDigestOf + 1).key);
        assert.ok(other && other.nameDigest === undefined, "no name digest on another algorithm's row");
      }
      for (const phone of phones(doomed)) assert.equal(await inst.store.records.find(phone), undefined, "a failed load's row was applied");
    } finally {
      await inst.close();
    }
  });
});
