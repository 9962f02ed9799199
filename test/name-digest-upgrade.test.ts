/**
 * Records imported before migration 17 (their md5 digest rows without a name digest), upgraded on both backends:
 * the store is taken back to the old layout (the column dropped, the version before it recorded) and opened again.
 * md5 Mobile2MetaVerify answers their numbers BizCode 3, free; every other check answers as before; a new import
 * of the record fills the name digest in.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { it } from "node:test";
import Database from "better-sqlite3";
import { Client } from "pg";
import { RECORDS_FILE } from "../src/store/sqlite/records-file";
import { DATABASE_FILE } from "../src/store/sqlite/store";
import { cloudauth, md5, popCore } from "./helpers/alibaba";
import { describeBackends, startTestServer, type TestServer } from "./helpers/server";
import { PG_URL } from "./helpers/services";

const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };

/** The store as version 16 left it: records.db at its step 3, or the schema without migration 17. */
async function beforeMigration17(server: TestServer): Promise<void> {
  if (server.backend === "sqlite") {
    const records = new Database(path.join(server.dataDir, RECORDS_FILE));
    records.exec("ALTER TABLE record_digests DROP COLUMN name_digest");
    records.pragma("user_version = 3");
    records.close();
    const main = new Database(path.join(server.dataDir, DATABASE_FILE));
    main.pragma("user_version = 16");
    main.close();
    return;
  }
  const pg = new Client({ connectionString: PG_URL });
  await pg.connect();
  const schema = server.env.SANYAO_DATABASE_SCHEMA ?? "";
  await pg.query(`ALTER TABLE ${schema}.record_digests DROP COLUMN name_digest`);
  await pg.query(`DELETE FROM ${schema}.schema_version WHERE version >= 17`);
  await pg.end();
}

describeBackends("records imported before migration 17", (backend) => {
  it("answer md5 Mobile2MetaVerify BizCode 3, unbilled, until imported again; the other checks answer as before", async () => {
    const old = await startTestServer({}, backend);
    await old.addRecords([ZHANG]);
    // embedded: the files are changed with the server stopped; scale-out: a second instance opens the changed schema
    if (backend === "sqlite") await old.close();
    await beforeMigration17(old);
    const server = await startTestServer(backend === "sqlite" ? {} : old.env, backend, old.dataDir);
    try {
      const key = await server.addAccount("upgraded");
      const twoMeta = (ParamType: string, Mobile: string, UserName: string) =>
        popCore(server.port, key)("Mobile2MetaVerify", { ParamType, Mobile, UserName }, "POST").then((r) => r.ResultObject as object);
      assert.deepEqual({ ...(await twoMeta("md5", md5(ZHANG.phone), md5(ZHANG.name))) }, { BizCode: "3", IspName: "" });
      assert.deepEqual({ ...(await twoMeta("normal", ZHANG.phone, ZHANG.name)) }, { BizCode: "1", IspName: "CMCC" });
      const threeMeta = await cloudauth(server.port, key, "v3").call("Mobile3MetaDetailVerify", {
        paramType: "md5",
        mobile: md5(ZHANG.phone),
        identifyNum: md5(ZHANG.idcard),
        userName: md5(ZHANG.name),
      });
      assert.equal(threeMeta.resultObject?.subCode, "101");
      const charged = async () =>
        (await server.installation.store.ledger.usage({ accountId: key.accountId })).reduce((n, r) => n + r.charged, 0);
      assert.equal(await charged(), 2, "the BizCode 3 was free");

      await server.addRecords([ZHANG]);
      assert.deepEqual({ ...(await twoMeta("md5", md5(ZHANG.phone), md5(ZHANG.name))) }, { BizCode: "1", IspName: "CMCC" });
      assert.deepEqual({ ...(await twoMeta("md5", md5(ZHANG.phone), md5("李四"))) }, { BizCode: "2", IspName: "CMCC" });
      assert.equal(await charged(), 4);
    } finally {
      await server.close();
      if (backend !== "sqlite") await old.close();
    }
  });
});
