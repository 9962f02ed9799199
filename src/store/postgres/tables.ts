/** The scale-out store's rows as plain statements: accounts, keys, records, KMS keys, meta. */
import type { QueryResultRow } from "pg";
import type { StoredRecord } from "../model";
import type { AccountRows, ApiKeyRows, KmsKeyRows, MetaRows, RecordRows, ScenarioRows } from "../ports";
import {
  type AccountRow,
  type ApiKeyTableRow,
  containsPattern,
  recordCount,
  toTopUp,
  type TopUpTableRow,
  type KmsKeyTableRow,
  patchEntries,
  type DigestTableRow,
  type RecordTableRow,
  toAccount,
  toApiKeyRow,
  toKmsKeyRow,
  recordValues,
  toDigestRecord,
  toStoredRecord,
  theRow,
} from "../rows";

/** One statement on the pool, its failures already classified (UnavailableError when PostgreSQL is away). */
export type Query = <R extends QueryResultRow>(sql: string, params?: unknown[]) => Promise<R[]>;

const count = async (q: Query, sql: string, params: unknown[]) => {
  const [row] = await q<{ n: string }>(sql, params);
  return Number(theRow(row, "a COUNT").n);
};

export function accountRows(q: Query): AccountRows {
  return {
    async insert(a) {
      const rows = await q<AccountRow>(
        `INSERT INTO accounts (account_id, name, created_at, rate_limit, rate_limits, daily_cap, balance)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [a.accountId, a.name, a.createdAt, a.rateLimit, JSON.stringify(a.rateLimits), a.dailyCap, a.balance],
      );
      return toAccount(theRow(rows[0], "INSERT INTO accounts … RETURNING"));
    },
    list: async () => (await q<AccountRow>("SELECT * FROM accounts ORDER BY created_at, account_id")).map(toAccount),
    async page({ search, offset, limit }) {
      const pattern = search ? containsPattern(search) : null;
      const matching = "$1::text IS NULL OR name ILIKE $1 ESCAPE '\\' OR account_id ILIKE $1 ESCAPE '\\'";
      const rows = await q<AccountRow>(`SELECT * FROM accounts WHERE ${matching} ORDER BY created_at, account_id LIMIT $2 OFFSET $3`, [
        pattern,
        limit,
        offset,
      ]);
      return { rows: rows.map(toAccount), total: await count(q, `SELECT count(*) AS n FROM accounts WHERE ${matching}`, [pattern]) };
    },
    async get(accountId) {
      const [row] = await q<AccountRow>("SELECT * FROM accounts WHERE account_id = $1", [accountId]);
      return row && toAccount(row);
    },
    async update(accountId, patch) {
      const entries = patchEntries(patch);
      if (entries.length === 0) return (await q("SELECT 1 FROM accounts WHERE account_id = $1", [accountId])).length > 0;
      const sets = entries.map(([column], i) => `${column} = $${i + 1}`).join(", ");
      const values = entries.map(([, v]) => v);
      return (
        (await q(`UPDATE accounts SET ${sets} WHERE account_id = $${entries.length + 1} RETURNING 1`, [...values, accountId])).length > 0
      );
    },
    async topUp(e) {
      // One statement: the balance and the top-up's row are written together or not at all.
      const [row] = await q<{ balance: string }>(
        `WITH credited AS (UPDATE accounts SET balance = balance + $1 WHERE account_id = $2 RETURNING balance),
              noted AS (INSERT INTO top_ups (id, account_id, amount, note, at) SELECT $3, $2, $1, $4, $5 FROM credited)
         SELECT balance FROM credited`,
        [e.amount, e.accountId, e.id, e.note, e.at],
      );
      return row ? Number(row.balance) : undefined;
    },
    async topUps(accountId, offset, limit) {
      const rows = await q<TopUpTableRow>("SELECT * FROM top_ups WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3", [
        accountId,
        limit,
        offset,
      ]);
      return { rows: rows.map(toTopUp), total: await count(q, "SELECT count(*) AS n FROM top_ups WHERE account_id = $1", [accountId]) };
    },
  };
}

export function apiKeyRows(q: Query): ApiKeyRows {
  return {
    insert: async (k) =>
      (
        await q(
          `INSERT INTO api_keys (secret_id, account_id, secret_sealed, enabled, test, created_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT DO NOTHING RETURNING 1`,
          [k.secretId, k.accountId, k.secretSealed, Number(k.enabled), Number(k.test), k.createdAt],
        )
      ).length > 0,
    async get(secretId) {
      const [row] = await q<ApiKeyTableRow>("SELECT * FROM api_keys WHERE secret_id = $1", [secretId]);
      return row && toApiKeyRow(row);
    },
    list: async (accountId) =>
      (await q<ApiKeyTableRow>("SELECT * FROM api_keys WHERE account_id = $1 ORDER BY created_at, secret_id", [accountId])).map(
        toApiKeyRow,
      ),
    setEnabled: async (secretId, enabled) =>
      (await q("UPDATE api_keys SET enabled = $1 WHERE secret_id = $2 RETURNING 1", [Number(enabled), secretId])).length > 0,
  };
}

/** 19 parameters a record with its digests: PostgreSQL takes at most 65,535 in one statement. */
const UPSERT_CHUNK = 2000;

export function recordRows(q: Query): Omit<RecordRows, "load"> {
  /**
   * One statement: a chunk of records and their digests together; `xmax <> 0` marks the rows that replaced an
   * existing record. Within one statement a phone may appear only once: the last row wins, as in a file import.
   */
  async function upsertChunk(records: readonly StoredRecord[]): Promise<number> {
    const values: unknown[] = [];
    const param = (value: unknown, type: string) => {
      values.push(value);
      return `$${values.length}::${type}`;
    };
    const tuples = records.map((r, n) => {
      const cells = recordValues(r).map((v, i) => param(v, i < 3 ? "bytea" : "text"));
      return `(${cells.join(", ")}, ${n})`;
    });
    const digests = records.flatMap((r, n) =>
      (r.digests ?? []).map(
        (d) =>
          `(${param(d.key, "bytea")}, ${param(r.phoneHash, "bytea")}, ${param(d.pair, "bytea")}, ${param(d.name ?? null, "bytea")}, ${n})`,
      ),
    );
    const digestStep =
      digests.length === 0
        ? ""
        : `, digests AS (
              INSERT INTO record_digests (digest_key, phone_hash, pair_hash, name_digest)
              SELECT DISTINCT ON (digest_key) digest_key, phone_hash, pair_hash, name_digest
              FROM (VALUES ${digests.join(", ")}) AS d(digest_key, phone_hash, pair_hash, name_digest, n)
              ORDER BY digest_key, n DESC
              ON CONFLICT (digest_key) DO UPDATE SET phone_hash = excluded.phone_hash, pair_hash = excluded.pair_hash,
                name_digest = excluded.name_digest
            )`;
    const rows = await q<{ replaced: boolean }>(
      `WITH upserted AS (
           INSERT INTO records (phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since)
           SELECT DISTINCT ON (phone_hash) phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since
           FROM (VALUES ${tuples.join(", ")}) AS v(phone_hash, name_hash, idcard_hash, carrier, status, line_status, network_since, n)
           ORDER BY phone_hash, n DESC
           ON CONFLICT (phone_hash) DO UPDATE SET name_hash = excluded.name_hash, idcard_hash = excluded.idcard_hash,
             carrier = excluded.carrier, status = excluded.status, line_status = excluded.line_status,
             network_since = excluded.network_since
           RETURNING (xmax <> 0) AS replaced
         )${digestStep}
         SELECT replaced FROM upserted`,
      values,
    );
    const inBatchDuplicates = records.length - rows.length;
    return rows.filter((r) => r.replaced).length + inBatchDuplicates;
  }

  return {
    async upsert(records) {
      let replaced = 0;
      for (let i = 0; i < records.length; i += UPSERT_CHUNK) replaced += await upsertChunk(records.slice(i, i + UPSERT_CHUNK));
      return { replaced };
    },
    count: () => count(q, "SELECT count(*) AS n FROM records", []),
    async find(phoneHash) {
      const [row] = await q<RecordTableRow>("SELECT * FROM records WHERE phone_hash = $1", [phoneHash]);
      return row && toStoredRecord(row);
    },
    async findByDigest(key) {
      const [row] = await q<DigestTableRow>(
        "SELECT r.*, d.pair_hash, d.name_digest FROM record_digests d JOIN records r ON r.phone_hash = d.phone_hash WHERE d.digest_key = $1",
        [key],
      );
      return row && toDigestRecord(row);
    },
    findByIdCard: async (idCardHash, limit) =>
      (await q<RecordTableRow>("SELECT * FROM records WHERE idcard_hash = $1 LIMIT $2", [idCardHash, limit])).map(toStoredRecord),
    idCardHeldByOtherName: async (idCardHash, nameHash) =>
      (await q("SELECT 1 FROM records WHERE idcard_hash = $1 AND name_hash <> $2 AND status = 'active' LIMIT 1", [idCardHash, nameHash]))
        .length > 0,
    stats: async () =>
      (
        await q<{ carrier: string; status: string; n: string }>(
          "SELECT carrier, status, count(*) AS n FROM records GROUP BY carrier, status ORDER BY carrier, status",
        )
      ).map(recordCount),
  };
}

export function kmsKeyRows(q: Query): KmsKeyRows {
  return {
    insert: async (k) =>
      (
        await q(
          `INSERT INTO kms_keys (key_id, account_id, region, alias, description, key_usage, state, created_at, material_sealed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING 1`,
          [k.keyId, k.accountId, k.region, k.alias, k.description, k.keyUsage, k.state, k.createdAt, k.materialSealed],
        )
      ).length > 0,
    async get(accountId, keyId) {
      const [row] = await q<KmsKeyTableRow>("SELECT * FROM kms_keys WHERE key_id = $1 AND account_id = $2", [keyId, accountId]);
      return row && toKmsKeyRow(row);
    },
    async list(accountId, region, offset, limit) {
      const rows = await q<{ key_id: string }>(
        "SELECT key_id FROM kms_keys WHERE account_id = $1 AND region = $2 ORDER BY created_at, seq LIMIT $3 OFFSET $4",
        [accountId, region, limit, offset],
      );
      const total = await count(q, "SELECT count(*) AS n FROM kms_keys WHERE account_id = $1 AND region = $2", [accountId, region]);
      return { keyIds: rows.map((r) => r.key_id), total };
    },
    count: (accountId) => count(q, "SELECT count(*) AS n FROM kms_keys WHERE account_id = $1", [accountId]),
    async setState(accountId, keyId, state) {
      await q("UPDATE kms_keys SET state = $1 WHERE account_id = $2 AND key_id = $3", [state, accountId, keyId]);
    },
  };
}

export function metaRows(q: Query): MetaRows {
  return {
    get: async (key) => (await q<{ value: string }>("SELECT value FROM meta WHERE key = $1", [key]))[0]?.value,
    async set(key, value) {
      await q("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]);
    },
    async setIfAbsent(key, value) {
      await q("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", [key, value]);
      const stored = (await q<{ value: string }>("SELECT value FROM meta WHERE key = $1", [key]))[0]?.value;
      if (stored === undefined) throw new Error(`meta ${key} vanished after it was written`);
      return stored;
    },
    async remove(key) {
      await q("DELETE FROM meta WHERE key = $1", [key]);
    },
  };
}

export function scenarioRows(q: Query): ScenarioRows {
  type Row = { id: string; account_id: string; spec: string; remaining: number | null; created_at: string };
  return {
    async insert(r) {
      await q("INSERT INTO scenarios (id, account_id, spec, remaining, created_at) VALUES ($1, $2, $3, $4, $5)", [
        r.id,
        r.accountId,
        r.spec,
        r.remaining,
        r.createdAt,
      ]);
    },
    list: async () =>
      (await q<Row>("SELECT * FROM scenarios ORDER BY created_at, id")).map((r) => ({
        id: r.id,
        accountId: r.account_id,
        spec: r.spec,
        remaining: r.remaining,
        createdAt: r.created_at,
      })),
    remove: async (id) => (await q("DELETE FROM scenarios WHERE id = $1 RETURNING 1", [id])).length > 0,
    clear: async (accountId) =>
      (accountId === undefined
        ? await q("DELETE FROM scenarios RETURNING 1")
        : await q("DELETE FROM scenarios WHERE account_id = $1 RETURNING 1", [accountId])
      ).length,
    use: async (id) =>
      (await q("UPDATE scenarios SET remaining = remaining - 1 WHERE id = $1 AND remaining > 0 RETURNING 1", [id])).length > 0,
  };
}
