/**
 * One conformance suite for the storage ports, run on both adapters (SQLite and PostgreSQL): what a caller of
 * accounts, API keys, records, ledger, audit, KMS keys and meta may rely on, whichever backend holds them.
 */
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../src/app/config";
import { openInstallation, type Installation } from "../src/app/installation";
import type { ChargeEntry, KmsKey, StoredRecord } from "../src/store/model";
import type { Storage } from "../src/store/storage";
import { describeBackends, dropScaleOut, scaleOutEnv, tempDir } from "./helpers/server";
import { ensureServices } from "./helpers/services";

const DEFAULTS = { rateLimit: 20, dailyCap: 20, balance: 10_000 };
const hash = () => randomBytes(32);

describeBackends("storage ports", (backend) => {
  let installation: Installation;
  let store: Storage;
  const env = backend === "scale-out" ? scaleOutEnv() : {};
  before(async () => {
    if (backend === "scale-out") await ensureServices();
    installation = await openInstallation(loadConfig({ dataDir: tempDir() }, env));
    store = installation.store;
  });
  after(async () => {
    await installation.close();
    if (backend === "scale-out") await dropScaleOut(env);
  });

  it("accounts: created with the defaults, listed, patched, topped up; an unknown id is told apart", async () => {
    const a = await store.accounts.create("alpha", DEFAULTS);
    assert.match(a.accountId, /^1\d{11}$/);
    assert.deepEqual(
      { ...a, createdAt: "" },
      {
        accountId: a.accountId,
        name: "alpha",
        createdAt: "",
        activated: true,
        identityVerified: true,
        billing: "ok",
        rateLimit: 20,
        rateLimits: {},
        dailyCap: 20,
        balance: 10_000,
        kmsAuthorized: false,
        monthlyBudget: 0,
      },
    );
    assert.ok((await store.accounts.list()).some((x) => x.accountId === a.accountId));
    const rateLimits = { IdCardVerification: 100, MobileStatus: 3 };
    assert.equal(
      await store.accounts.update(a.accountId, {
        billing: "abnormal",
        rateLimit: 5,
        rateLimits,
        kmsAuthorized: true,
        monthlyBudget: 500_000,
      }),
      true,
    );
    assert.equal((await store.accounts.get(a.accountId))?.monthlyBudget, 500_000);
    assert.equal(await store.accounts.update(a.accountId, {}), true);
    const patched = await store.accounts.get(a.accountId);
    assert.deepEqual(
      [patched?.billing, patched?.rateLimit, patched?.rateLimits, patched?.kmsAuthorized],
      ["abnormal", 5, rateLimits, true],
    );
    assert.equal(await store.accounts.topUp(a.accountId, 250), 10_250);
    assert.equal(await store.accounts.get("100000000000"), undefined);
    assert.equal(await store.accounts.update("100000000000", { rateLimit: 1 }), false);
    assert.equal(await store.accounts.update("100000000000", {}), false);
    assert.equal(await store.accounts.topUp("100000000000", 1), undefined);
  });

  it("API keys: the secret is kept sealed and opened for an enabled key only; bad or duplicate keys are refused", async () => {
    const a = await store.accounts.create("keys", DEFAULTS);
    const made = await store.apiKeys.create(a.accountId);
    assert.match(made.secretId, /^AKID[A-Za-z0-9]{32}$/);
    assert.deepEqual(await store.apiKeys.resolve(made.secretId), { ...made, accountId: a.accountId, test: false });
    const testKey = await store.apiKeys.create(a.accountId, undefined, { test: true });
    assert.equal((await store.apiKeys.resolve(testKey.secretId))?.test, true);
    const given = { secretId: "AKIDconformance0001", secretKey: "a-fixed-secret-key-0001" };
    await store.apiKeys.create(a.accountId, given);
    await assert.rejects(store.apiKeys.create(a.accountId, given), /exists already/);
    await assert.rejects(store.apiKeys.create(a.accountId, { secretId: "bad id!", secretKey: "x".repeat(16) }), /8 to 128/);
    await assert.rejects(store.apiKeys.create(a.accountId, { secretId: "AKIDshortkey01", secretKey: "short" }), /at least 16/);
    await assert.rejects(store.apiKeys.create("100000000000"), /No account/);
    assert.deepEqual(
      (await store.apiKeys.list(a.accountId)).map((k) => [k.secretId, k.enabled, k.test]).sort(),
      [
        [given.secretId, true, false],
        [made.secretId, true, false],
        [testKey.secretId, true, true],
      ].sort(),
    );
    assert.equal(await store.apiKeys.setEnabled(given.secretId, false), true);
    assert.equal(await store.apiKeys.resolve(given.secretId), undefined);
    assert.equal(await store.apiKeys.setEnabled(given.secretId, true), true);
    assert.equal((await store.apiKeys.resolve(given.secretId))?.secretKey, given.secretKey);
    assert.equal(await store.apiKeys.setEnabled("AKIDnosuchkey000", false), false);
    assert.equal(await store.apiKeys.resolve("AKIDnosuchkey000"), undefined);
  });

  it("records: upserted by phone hash with the replacements counted, found, and an identity number's other holder", async () => {
    const before = await store.records.count();
    const idCard = hash();
    const first: StoredRecord = { phoneHash: hash(), nameHash: hash(), idCardHash: idCard, carrier: "mobile", status: "active" };
    const second: StoredRecord = { phoneHash: hash(), nameHash: hash(), idCardHash: hash(), carrier: "cucc", status: "suspended" };
    assert.deepEqual(await store.records.upsert([first, second]), { replaced: 0 });
    const moved = { ...first, carrier: "telecom" as const };
    // The last of two rows for one number wins, within a batch as across batches.
    assert.deepEqual(await store.records.upsert([{ ...moved, status: "busy" }, moved]), { replaced: 2 });
    assert.equal(await store.records.count(), before + 2);
    assert.deepEqual(await store.records.find(first.phoneHash), moved);
    assert.equal(await store.records.find(hash()), undefined);
    assert.deepEqual(await store.records.findByIdCard(idCard, 10), [moved]);
    assert.deepEqual(await store.records.findByIdCard(hash(), 10), []);
    assert.equal(await store.records.idCardHeldByOtherName(idCard, first.nameHash), false);
    assert.equal(await store.records.idCardHeldByOtherName(idCard, hash()), true);
  });

  it("ledger: a charge debits once, a RequestId charged again is not debited again; usage joins calls and charges", async () => {
    const a = await store.accounts.create("ledger", DEFAULTS);
    const at = Date.parse("2026-12-01T17:00:00Z"); // 01:00 on 2 December, China time
    const charge = (requestId: string, mode: ChargeEntry["mode"], unitPrice: number): ChargeEntry => ({
      requestId,
      accountId: a.accountId,
      secretId: "AKIDledger",
      action: "PhoneVerification",
      mode,
      unitPrice,
      at,
    });
    const once = randomUUID();
    await store.ledger.charge(charge(once, "simple", 30));
    await store.ledger.charge(charge(once, "simple", 30));
    await store.ledger.charge(charge(randomUUID(), "detailed", 50));
    assert.equal((await store.accounts.get(a.accountId))?.balance, 10_000 - 80);
    for (const variant of ["simple", "simple", "detailed", undefined]) {
      store.audit.append({
        at,
        requestId: randomUUID(),
        accountId: a.accountId,
        secretId: "AKIDledger",
        action: "PhoneVerification",
        code: "0",
        detail: variant === undefined ? undefined : { variant, subject: "138****1234" },
        latencyUs: 100,
      });
    }
    const expected = [
      {
        accountId: a.accountId,
        day: "2026-12-02",
        action: "PhoneVerification",
        mode: "detailed",
        calls: 1,
        charged: 1,
        amount: 50,
        cached: 0,
        refused: 0,
      },
      {
        accountId: a.accountId,
        day: "2026-12-02",
        action: "PhoneVerification",
        mode: "simple",
        calls: 2,
        charged: 1,
        amount: 30,
        cached: 0,
        refused: 0,
      },
    ];
    // Audit rows are written in batches within moments: wait for them, not for a fixed time.
    const deadline = Date.now() + 5000;
    let usage = await store.ledger.usage({ accountId: a.accountId });
    while (JSON.stringify(usage) !== JSON.stringify(expected) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      usage = await store.ledger.usage({ accountId: a.accountId });
    }
    assert.deepEqual(usage, expected);
    assert.deepEqual(await store.ledger.usage({ accountId: a.accountId, from: "2026-12-02", to: "2026-12-02" }), expected);
    assert.deepEqual(await store.ledger.usage({ accountId: a.accountId, to: "2026-12-01" }), []);
  });

  it("the test ledger: a test key's charge is kept apart, never debited, and reported only when asked for", async () => {
    const a = await store.accounts.create("test-ledger", DEFAULTS);
    const at = Date.parse("2026-12-02T04:00:00Z");
    const entry = { accountId: a.accountId, secretId: "AKIDtest", action: "MobileStatus", mode: "simple" as const, unitPrice: 15, at };
    await store.ledger.charge({ ...entry, requestId: randomUUID(), test: true });
    await store.ledger.charge({ ...entry, requestId: randomUUID() });
    store.audit.append({
      at,
      requestId: randomUUID(),
      accountId: a.accountId,
      secretId: "AKIDtest",
      action: "MobileStatus",
      code: "0",
      detail: { variant: "simple" },
      latencyUs: 1,
      test: true,
      scenario: "scn-000000000000",
    });
    assert.equal((await store.accounts.get(a.accountId))?.balance, 10_000 - 15);
    const row = (calls: number) => ({
      accountId: a.accountId,
      day: "2026-12-02",
      action: "MobileStatus",
      mode: "simple",
      calls,
      charged: 1,
      amount: 15,
      cached: 0,
      refused: 0,
    });
    assert.deepEqual(await store.ledger.usage({ accountId: a.accountId }), [row(0)]);
    const deadline = Date.now() + 5000;
    let usage = await store.ledger.usage({ accountId: a.accountId, test: true });
    while (usage[0]?.calls !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      usage = await store.ledger.usage({ accountId: a.accountId, test: true });
    }
    assert.deepEqual(usage, [row(1)]);
  });

  it("ledger read-back: a RequestId is found once its charge is written (a test key's too), never before", async () => {
    const a = await store.accounts.create("read-back", DEFAULTS);
    const entry = {
      accountId: a.accountId,
      secretId: "AKIDreadback",
      action: "MobileStatus",
      mode: "simple" as const,
      unitPrice: 15,
      at: 0,
    };
    const [real, test, never] = [randomUUID(), randomUUID(), randomUUID()];
    await store.ledger.charge({ ...entry, requestId: real });
    await store.ledger.charge({ ...entry, requestId: test, test: true });
    assert.deepEqual([await store.ledger.has(real), await store.ledger.has(test), await store.ledger.has(never)], [true, true, false]);
  });

  it("accounts, paged: a part of the name or id in any case, % and _ taken literally; counted in all", async () => {
    const tag = randomBytes(4).toString("hex");
    const made: Array<{ accountId: string }> = [];
    for (const name of [`Team_${tag} one`, `team_${tag} two`, `team%${tag} three`]) made.push(await store.accounts.create(name, DEFAULTS));
    // Oldest first; two made in one millisecond may come in either order, so the pages are held to the whole listing.
    const both = await store.accounts.page({ search: `TEAM_${tag}`, offset: 0, limit: 5 });
    assert.deepEqual(both.rows.map((a) => a.name).sort(), [`Team_${tag} one`, `team_${tag} two`]);
    const first = await store.accounts.page({ search: `TEAM_${tag}`, offset: 0, limit: 1 });
    assert.deepEqual([first.rows, first.total], [both.rows.slice(0, 1), 2]);
    const second = await store.accounts.page({ search: `team_${tag}`, offset: 1, limit: 5 });
    assert.deepEqual(second.rows, both.rows.slice(1));
    assert.deepEqual((await store.accounts.page({ search: `%${tag}`, offset: 0, limit: 5 })).total, 1);
    const byId = await store.accounts.page({ search: made[2]!.accountId.slice(2), offset: 0, limit: 5 });
    assert.ok(byId.rows.some((a) => a.accountId === made[2]!.accountId));
    const all = await store.accounts.page({ offset: 0, limit: 1000 });
    assert.equal(all.total, (await store.accounts.list()).length);
  });

  it("top-ups: the balance and the note in one step, listed newest first; none for an unknown account", async () => {
    const a = await store.accounts.create("top-ups", DEFAULTS);
    assert.equal(await store.accounts.topUp(a.accountId, 500, "invoice 12"), 10_500);
    assert.equal(await store.accounts.topUp(a.accountId, -100, "refund"), 10_400);
    const listed = await store.accounts.topUps(a.accountId, 0, 10);
    assert.deepEqual(
      listed.rows.map((t) => [t.amount, t.note]),
      [
        [-100, "refund"],
        [500, "invoice 12"],
      ],
    );
    assert.equal(listed.total, 2);
    assert.deepEqual((await store.accounts.topUps(a.accountId, 1, 10)).rows.length, 1);
    assert.equal(await store.accounts.topUp("100000000000", 1, "nobody"), undefined);
    assert.deepEqual(await store.accounts.topUps("100000000000", 0, 10), { rows: [], total: 0 });
  });

  it("ledger entries: one account's, newest first, by time range and action, paged by offset or by keyset", async () => {
    const a = await store.accounts.create("entries", DEFAULTS);
    const t0 = Date.parse("2026-12-01T16:00:00Z"); // midnight, 2 December, China time
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const requestId = `entry-${i}-${randomUUID()}`;
      ids.push(requestId);
      await store.ledger.charge({
        requestId,
        accountId: a.accountId,
        secretId: "AKIDentries",
        action: i % 2 === 0 ? "PhoneVerification" : "MobileStatus",
        mode: "simple",
        unitPrice: 10 + i,
        at: t0 + i * 3600_000 * 6, // every six hours: 4 on 2 December, 2 on 3 December
      });
    }
    await store.ledger.charge({
      requestId: randomUUID(),
      accountId: a.accountId,
      secretId: "AKIDx",
      action: "MobileStatus",
      mode: "simple",
      unitPrice: 1,
      at: t0,
      test: true,
    });
    const q = { accountId: a.accountId, test: false };
    const page = await store.ledger.entries({ ...q, limit: 2, offset: 1 });
    assert.deepEqual(
      page.map((e) => e.requestId),
      [ids[4], ids[3]],
    );
    assert.deepEqual(page[0], {
      requestId: ids[4],
      accountId: a.accountId,
      secretId: "AKIDentries",
      action: "PhoneVerification",
      mode: "simple",
      unitPrice: 14,
      at: t0 + 4 * 6 * 3600_000,
      test: false,
      upstreamRequestId: undefined,
    });
    assert.equal(await store.ledger.entryCount(q), 6);
    const day2 = { ...q, fromMs: t0, toMs: t0 + 86_400_000 };
    assert.equal(await store.ledger.entryCount(day2), 4);
    assert.equal(await store.ledger.entryCount({ ...day2, action: "MobileStatus" }), 2);
    assert.deepEqual(
      (await store.ledger.entries({ ...day2, action: "MobileStatus", limit: 10 })).map((e) => e.requestId),
      [ids[3], ids[1]],
    );
    const after = page[1]!;
    assert.deepEqual(
      (await store.ledger.entries({ ...q, limit: 10, after: { at: after.at, requestId: after.requestId } })).map((e) => e.requestId),
      [ids[2], ids[1], ids[0]],
    );
    assert.equal(await store.ledger.entryCount({ ...q, test: true }), 1);
  });

  it("gateway: unknown calls paged, each team's spend this month beside its budget, the cache's hits and misses", async () => {
    const team = await store.accounts.create("gateway-team", DEFAULTS);
    await store.accounts.update(team.accountId, { monthlyBudget: 1_000 });
    const since = Date.parse("2026-11-30T16:00:00Z");
    for (let i = 0; i < 3; i++) {
      await store.ledger.markUnknown({
        requestId: randomUUID(),
        accountId: team.accountId,
        secretId: "AKIDgw",
        action: "MobileStatus",
        at: since + i,
        reason: "timeout",
      });
    }
    const unknown = await store.ledger.unknownPage({ accountId: team.accountId, offset: 0, limit: 2 });
    assert.deepEqual([unknown.rows.map((u) => u.at), unknown.total], [[since + 2, since + 1], 3]);
    const charge = { accountId: team.accountId, secretId: "AKIDgw", action: "MobileStatus", mode: "simple" as const, unitPrice: 15 };
    await store.ledger.charge({ ...charge, requestId: randomUUID(), at: since + 10 });
    await store.ledger.charge({ ...charge, requestId: randomUUID(), at: since - 10 });
    await store.ledger.charge({ ...charge, requestId: randomUUID(), at: since + 10, test: true });
    const spend = await store.ledger.teamSpend(since);
    assert.deepEqual(
      spend.find((t) => t.accountId === team.accountId),
      { accountId: team.accountId, name: "gateway-team", monthlyBudget: 1_000, spent: 15 },
    );
    const before = await store.audit.cacheCounts(since);
    for (const cache of ["hit", "hit", "miss"] as const) {
      store.audit.append({
        at: since + 5,
        requestId: randomUUID(),
        accountId: team.accountId,
        secretId: "AKIDgw",
        action: "MobileStatus",
        code: "0",
        detail: undefined,
        latencyUs: 1,
        cache,
      });
    }
    store.audit.append({
      at: since - 5,
      requestId: randomUUID(),
      accountId: team.accountId,
      secretId: "AKIDgw",
      action: "MobileStatus",
      code: "0",
      detail: undefined,
      latencyUs: 1,
      cache: "hit",
    });
    assert.deepEqual(await store.audit.cacheCounts(since), { hits: before.hits + 2, misses: before.misses + 1 });
  });

  it("records stats: counted by carrier and status in the store", async () => {
    const before = await store.records.stats();
    const n = (stats: typeof before, carrier: string, status: string) =>
      stats.find((s) => s.carrier === carrier && s.status === status)?.n ?? 0;
    await store.records.upsert([
      { phoneHash: hash(), nameHash: hash(), idCardHash: hash(), carrier: "broadnet", status: "busy" },
      { phoneHash: hash(), nameHash: hash(), idCardHash: hash(), carrier: "broadnet", status: "busy" },
      { phoneHash: hash(), nameHash: hash(), idCardHash: hash(), carrier: "", status: "suspended" },
    ]);
    const after = await store.records.stats();
    assert.deepEqual(
      [n(after, "broadnet", "busy") - n(before, "broadnet", "busy"), n(after, "", "suspended") - n(before, "", "suspended")],
      [2, 1],
    );
  });

  it("scenarios: inserted, listed oldest first, a limited one's uses taken until none is left, removed, cleared", async () => {
    const row = (id: string, accountId: string, remaining: number | null) => ({
      id,
      accountId,
      spec: JSON.stringify({ accountId }),
      remaining,
      createdAt: `2026-12-02T00:00:0${id.slice(-1)}.000Z`,
    });
    await store.scenarios.clear();
    await store.scenarios.insert(row("scn-1", "A", 2));
    await store.scenarios.insert(row("scn-2", "A", null));
    await store.scenarios.insert(row("scn-3", "B", 1));
    assert.deepEqual(
      (await store.scenarios.list()).map((r) => r.id),
      ["scn-1", "scn-2", "scn-3"],
    );
    // Three at once for two uses: exactly two are taken, whichever connection runs first.
    const uses = await Promise.all([store.scenarios.use("scn-1"), store.scenarios.use("scn-1"), store.scenarios.use("scn-1")]);
    assert.equal(uses.filter(Boolean).length, 2);
    assert.equal((await store.scenarios.list())[0]?.remaining, 0);
    assert.equal(await store.scenarios.use("scn-2"), false, "an unlimited scenario has no uses to take");
    assert.equal(await store.scenarios.remove("scn-2"), true);
    assert.equal(await store.scenarios.remove("scn-2"), false);
    assert.equal(await store.scenarios.clear("A"), 1);
    assert.deepEqual(
      (await store.scenarios.list()).map((r) => r.id),
      ["scn-3"],
    );
    assert.equal(await store.scenarios.clear(), 1);
  });

  it("KMS keys: material sealed and opened again, one alias per account and region, never another account's", async () => {
    const owner = await store.accounts.create("kms", DEFAULTS);
    const other = await store.accounts.create("kms-other", DEFAULTS);
    const key = (alias: string, region = "ap-guangzhou"): KmsKey => ({
      keyId: randomUUID(),
      accountId: owner.accountId,
      region,
      alias,
      description: "d",
      keyUsage: "ENCRYPT_DECRYPT",
      state: "Enabled",
      createdAt: 1_764_547_200,
      material: randomBytes(32),
    });
    const k1 = key("one");
    assert.equal(await store.kmsKeys.create(k1), true);
    assert.equal(await store.kmsKeys.create(key("one")), false);
    assert.equal(await store.kmsKeys.create(key("one", "ap-shanghai")), true);
    const k2 = key("two");
    await store.kmsKeys.create(k2);
    assert.deepEqual(await store.kmsKeys.get(owner.accountId, k1.keyId), k1);
    assert.deepEqual(await store.kmsKeys.get(owner.accountId, k1.keyId, "ap-guangzhou"), k1);
    assert.equal(await store.kmsKeys.get(owner.accountId, k1.keyId, "ap-shanghai"), undefined);
    assert.equal(await store.kmsKeys.get(other.accountId, k1.keyId), undefined);
    assert.deepEqual(await store.kmsKeys.list(owner.accountId, "ap-guangzhou", 0, 10), { keyIds: [k1.keyId, k2.keyId], total: 2 });
    assert.deepEqual(await store.kmsKeys.list(owner.accountId, "ap-guangzhou", 1, 10), { keyIds: [k2.keyId], total: 2 });
    assert.deepEqual(await store.kmsKeys.list(owner.accountId, "ap-guangzhou", 5, 10), { keyIds: [], total: 2 });
    assert.equal(await store.kmsKeys.count(owner.accountId), 3);
    await store.kmsKeys.setState(owner.accountId, k1.keyId, "Disabled");
    await store.kmsKeys.setState(other.accountId, k2.keyId, "Disabled");
    assert.equal((await store.kmsKeys.get(owner.accountId, k1.keyId))?.state, "Disabled");
    assert.equal((await store.kmsKeys.get(owner.accountId, k2.keyId))?.state, "Enabled");
  });

  it("meta: set, replaced, read back; an unknown key is undefined", async () => {
    await store.meta.set("conformance", "1");
    await store.meta.set("conformance", "2");
    assert.equal(await store.meta.get("conformance"), "2");
    assert.equal(await store.meta.get("no-such-meta"), undefined);
    await store.ping();
  });
});

describe("the embedded store's records file", () => {
  it("an installation from before records.db keeps its records: they move out of sanyao.db on the next start", async () => {
    const dataDir = tempDir();
    const record: StoredRecord = { phoneHash: hash(), nameHash: hash(), idCardHash: hash(), carrier: "mobile", status: "active" };
    const first = await openInstallation(loadConfig({ dataDir }, {}));
    await first.store.records.upsert([record]);
    await first.close();
    // As an older version left it: the records in sanyao.db, no records.db.
    const main = new Database(path.join(dataDir, "sanyao.db"));
    main.prepare("ATTACH DATABASE ? AS r").run(path.join(dataDir, "records.db"));
    main.exec("CREATE TABLE main.records AS SELECT * FROM r.records");
    main.exec("DETACH DATABASE r");
    main.close();
    for (const f of ["records.db", "records.db-wal", "records.db-shm"]) fs.rmSync(path.join(dataDir, f), { force: true });

    const again = await openInstallation(loadConfig({ dataDir }, {}));
    assert.deepEqual(await again.store.records.find(record.phoneHash), record);
    assert.equal(await again.store.records.count(), 1);
    await again.close();
    const after = new Database(path.join(dataDir, "sanyao.db"), { readonly: true });
    assert.equal(after.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'records'").pluck().get(), 0);
    after.close();
  });
});
