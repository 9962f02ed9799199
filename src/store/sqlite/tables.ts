/** The embedded store's rows that the request thread reads and writes itself: accounts, keys, records, KMS keys, meta. */
import type Database from "better-sqlite3";
import { loadRecords } from "./record-load";
import type { TurnSnapshot } from "./turn-snapshot";
import type { AccountRows, ApiKeyRows, KmsKeyRows, MetaRows, RecordRows, ScenarioRow, ScenarioRows } from "../ports";
import {
  type AccountRow,
  type ApiKeyTableRow,
  containsPattern,
  toTopUp,
  type TopUpTableRow,
  type KmsKeyTableRow,
  patchEntries,
  type DigestTableRow,
  type RecordTableRow,
  toAccount,
  toApiKeyRow,
  toKmsKeyRow,
  recordCount,
  recordFromColumns,
  recordValues,
  RECORD_BY_PHONE_COLUMNS,
  toDigestRecord,
  toStoredRecord,
  theRow,
} from "../rows";

export function accountRows(db: Database.Database): AccountRows {
  const insert = db.prepare(
    "INSERT INTO accounts (account_id, name, created_at, rate_limit, rate_limits, daily_cap, balance) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const list = db.prepare<[], AccountRow>("SELECT * FROM accounts ORDER BY created_at, account_id");
  const get = db.prepare<[string], AccountRow>("SELECT * FROM accounts WHERE account_id = ?");
  const topUp = db
    .prepare<[number, string], number>("UPDATE accounts SET balance = balance + ? WHERE account_id = ? RETURNING balance")
    .pluck();
  const recordTopUp = db.prepare("INSERT INTO top_ups (id, account_id, amount, note, at) VALUES (?, ?, ?, ?, ?)");
  const topUps = db.prepare<[string, number, number], TopUpTableRow>(
    "SELECT * FROM top_ups WHERE account_id = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
  );
  const topUpCount = db.prepare<[string], number>("SELECT count(*) FROM top_ups WHERE account_id = ?").pluck();
  const matching = "? IS NULL OR name LIKE ? ESCAPE '\\' OR account_id LIKE ? ESCAPE '\\'";
  const page = db.prepare<[string | null, string | null, string | null, number, number], AccountRow>(
    `SELECT * FROM accounts WHERE ${matching} ORDER BY created_at, account_id LIMIT ? OFFSET ?`,
  );
  const pageCount = db
    .prepare<[string | null, string | null, string | null], number>(`SELECT count(*) FROM accounts WHERE ${matching}`)
    .pluck();
  return {
    async insert(a) {
      insert.run(a.accountId, a.name, a.createdAt, a.rateLimit, JSON.stringify(a.rateLimits), a.dailyCap, a.balance);
      return toAccount(theRow(get.get(a.accountId), "reading an account just inserted"));
    },
    list: async () => list.all().map(toAccount),
    async page({ search, offset, limit }) {
      const pattern = search ? containsPattern(search) : null;
      return {
        rows: page.all(pattern, pattern, pattern, limit, offset).map(toAccount),
        total: theRow(pageCount.get(pattern, pattern, pattern), "counting accounts"),
      };
    },
    async get(accountId) {
      const row = get.get(accountId);
      return row && toAccount(row);
    },
    async update(accountId, patch) {
      const entries = patchEntries(patch);
      if (entries.length === 0) return get.get(accountId) !== undefined;
      const sets = entries.map(([column]) => `${column} = ?`).join(", ");
      return db.prepare(`UPDATE accounts SET ${sets} WHERE account_id = ?`).run(...entries.map(([, v]) => v), accountId).changes > 0;
    },
    topUp: async (e) =>
      db
        .transaction(() => {
          const balance = topUp.get(e.amount, e.accountId);
          if (balance !== undefined) recordTopUp.run(e.id, e.accountId, e.amount, e.note, e.at);
          return balance;
        })
        .immediate(),
    topUps: async (accountId, offset, limit) => ({
      rows: topUps.all(accountId, limit, offset).map(toTopUp),
      total: theRow(topUpCount.get(accountId), "counting top-ups"),
    }),
  };
}

export function apiKeyRows(db: Database.Database): ApiKeyRows {
  const insert = db.prepare(
    "INSERT INTO api_keys (secret_id, account_id, secret_sealed, enabled, test, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
  );
  const get = db.prepare<[string], ApiKeyTableRow>("SELECT * FROM api_keys WHERE secret_id = ?");
  const list = db.prepare<[string], ApiKeyTableRow>("SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at, secret_id");
  const setEnabled = db.prepare<[number, string]>("UPDATE api_keys SET enabled = ? WHERE secret_id = ?");
  return {
    insert: async (k) => insert.run(k.secretId, k.accountId, k.secretSealed, Number(k.enabled), Number(k.test), k.createdAt).changes > 0,
    async get(secretId) {
      const row = get.get(secretId);
      return row && toApiKeyRow(row);
    },
    list: async (accountId) => list.all(accountId).map(toApiKeyRow),
    setEnabled: async (secretId, enabled) => setEnabled.run(Number(enabled), secretId).changes > 0,
  };
}

/**
 * `reader`: records.db for the request path's reads, in `snapshot`'s read transactions (turn-snapshot.ts); `db`
 * writes it (imports) and counts it.
 */
export function recordRows(db: Database.Database, reader: Database.Database, snapshot: TurnSnapshot): RecordRows {
  const upsert = db.prepare(
    `INSERT INTO records (phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(phone_hash) DO UPDATE SET name_hash = excluded.name_hash, idcard_hash = excluded.idcard_hash,
       carrier = excluded.carrier, status = excluded.status, line_status = excluded.line_status,
       network_since = excluded.network_since`,
  );
  const upsertDigest = db.prepare(
    `INSERT INTO record_digests (digest_key, phone_hash, pair_hash, name_digest) VALUES (?, ?, ?, ?)
     ON CONFLICT(digest_key) DO UPDATE SET phone_hash = excluded.phone_hash, pair_hash = excluded.pair_hash,
       name_digest = excluded.name_digest`,
  );
  const byDigest = reader.prepare<[Buffer], DigestTableRow>(
    "SELECT r.*, d.pair_hash, d.name_digest FROM record_digests d JOIN records r ON r.phone_hash = d.phone_hash WHERE d.digest_key = ?",
  );
  const exists = db.prepare<[Buffer], number>("SELECT 1 FROM records WHERE phone_hash = ?").pluck();
  const count = db.prepare<[], number>("SELECT count(*) FROM records").pluck();
  const find = reader.prepare<[Buffer], unknown[]>(`SELECT ${RECORD_BY_PHONE_COLUMNS} FROM records WHERE phone_hash = ?`).raw();
  const byIdCard = reader.prepare<[Buffer, number], RecordTableRow>("SELECT * FROM records WHERE idcard_hash = ? LIMIT ?");
  const stats = db.prepare<[], { carrier: string; status: string; n: number }>(
    "SELECT carrier, status, count(*) AS n FROM records GROUP BY carrier, status ORDER BY carrier, status",
  );
  const otherName = reader
    .prepare<[Buffer, Buffer], number>("SELECT 1 FROM records WHERE idcard_hash = ? AND name_hash <> ? AND status = 'active' LIMIT 1")
    .pluck();
  return {
    load: (batches, signal) => loadRecords(db, batches, signal),
    async upsert(records) {
      let replaced = 0;
      db.transaction(() => {
        for (const r of records) {
          if (exists.get(r.phoneHash)) replaced++;
          upsert.run(...recordValues(r));
          for (const d of r.digests ?? []) upsertDigest.run(d.key, r.phoneHash, d.pair, d.name ?? null);
        }
      }).immediate();
      return { replaced };
    },
    count: async () => theRow(count.get(), "counting records"),
    async find(phoneHash) {
      const row = snapshot.read(() => find.get(phoneHash));
      return row && recordFromColumns(phoneHash, row);
    },
    findByIdCard: async (idCardHash, limit) => snapshot.read(() => byIdCard.all(idCardHash, limit)).map(toStoredRecord),
    async findByDigest(key) {
      const row = snapshot.read(() => byDigest.get(key));
      return row && toDigestRecord(row);
    },
    idCardHeldByOtherName: async (idCardHash, nameHash) => snapshot.read(() => otherName.get(idCardHash, nameHash)) !== undefined,
    stats: async () => stats.all().map(recordCount),
  };
}

export function kmsKeyRows(db: Database.Database): KmsKeyRows {
  const insert = db.prepare(
    `INSERT INTO kms_keys (key_id, account_id, region, alias, description, key_usage, state, created_at, material_sealed)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const get = db.prepare<[string, string], KmsKeyTableRow>("SELECT * FROM kms_keys WHERE key_id = ? AND account_id = ?");
  const list = db
    .prepare<[string, string, number, number], string>(
      "SELECT key_id FROM kms_keys WHERE account_id = ? AND region = ? ORDER BY created_at, rowid LIMIT ? OFFSET ?",
    )
    .pluck();
  const countIn = db.prepare<[string, string], number>("SELECT count(*) FROM kms_keys WHERE account_id = ? AND region = ?").pluck();
  const count = db.prepare<[string], number>("SELECT count(*) FROM kms_keys WHERE account_id = ?").pluck();
  const setState = db.prepare("UPDATE kms_keys SET state = ? WHERE account_id = ? AND key_id = ?");
  return {
    insert: async (k) =>
      insert.run(k.keyId, k.accountId, k.region, k.alias, k.description, k.keyUsage, k.state, k.createdAt, k.materialSealed).changes > 0,
    async get(accountId, keyId) {
      const row = get.get(keyId, accountId);
      return row && toKmsKeyRow(row);
    },
    list: async (accountId, region, offset, limit) => ({
      keyIds: list.all(accountId, region, limit, offset),
      total: theRow(countIn.get(accountId, region), "counting KMS keys"),
    }),
    count: async (accountId) => theRow(count.get(accountId), "counting KMS keys"),
    async setState(accountId, keyId, state) {
      setState.run(state, accountId, keyId);
    },
  };
}

export function metaRows(db: Database.Database): MetaRows {
  const get = db.prepare<[string], string>("SELECT value FROM meta WHERE key = ?").pluck();
  const set = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  const insert = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING");
  const remove = db.prepare("DELETE FROM meta WHERE key = ?");
  return {
    get: async (key) => get.get(key),
    async set(key, value) {
      set.run(key, value);
    },
    async setIfAbsent(key, value) {
      insert.run(key, value);
      return get.get(key) ?? value;
    },
    async remove(key) {
      remove.run(key);
    },
  };
}

export function scenarioRows(db: Database.Database): ScenarioRows {
  const insert = db.prepare("INSERT INTO scenarios (id, account_id, spec, remaining, created_at) VALUES (?, ?, ?, ?, ?)");
  const list = db.prepare<[], { id: string; account_id: string; spec: string; remaining: number | null; created_at: string }>(
    "SELECT * FROM scenarios ORDER BY created_at, id",
  );
  const remove = db.prepare<[string]>("DELETE FROM scenarios WHERE id = ?");
  const clearAll = db.prepare("DELETE FROM scenarios");
  const clearAccount = db.prepare<[string]>("DELETE FROM scenarios WHERE account_id = ?");
  const use = db.prepare<[string]>("UPDATE scenarios SET remaining = remaining - 1 WHERE id = ? AND remaining > 0");
  return {
    async insert(r: ScenarioRow) {
      insert.run(r.id, r.accountId, r.spec, r.remaining, r.createdAt);
    },
    list: async () =>
      list.all().map((r) => ({ id: r.id, accountId: r.account_id, spec: r.spec, remaining: r.remaining, createdAt: r.created_at })),
    remove: async (id) => remove.run(id).changes > 0,
    clear: async (accountId) => (accountId === undefined ? clearAll.run() : clearAccount.run(accountId)).changes,
    use: async (id) => use.run(id).changes > 0,
  };
}
