/**
 * Schema migrations for both engines, in order; a store applies those above its recorded version, each in one
 * transaction. The two dialects of one version describe the same tables. Never edit a migration that has
 * shipped: add the next one.
 */
export interface Migration {
  version: number;
  description: string;
  sqlite: string;
  postgres: string;
}

/**
 * Migration 14 rolls up the history an installation already has (every hour that ended an hour ago), so that an
 * upgraded installation's overview reads the rollup from its first request; the server rolls up later hours itself
 * (admin/overview-rollup.ts). Written out here, constants and all, since a shipped migration never changes.
 */
export function rollUpHistory(nowMs: string): string {
  const due = `((${nowMs}) - 3600000) / 3600000 * 3600000`;
  return `
      INSERT INTO overview_calls (hour, action, code, n)
        SELECT at / 3600000 * 3600000, action, code, count(*) FROM audit
        WHERE at < ${due} AND test = 0 AND action IS NOT NULL GROUP BY 1, 2, 3;
      INSERT INTO overview_charges (hour, action, n, amount)
        SELECT at / 3600000 * 3600000, action, count(*), sum(unit_price) FROM ledger
        WHERE at < ${due} AND test = 0 GROUP BY 1, 2;
      INSERT INTO overview_latencies (hour, latency_class, n)
        SELECT at / 3600000 * 3600000, floor(ln(latency_us + 1) * 20), count(*) FROM audit
        WHERE at < ${due} AND test = 0 AND action IS NOT NULL GROUP BY 1, 2;
      INSERT INTO meta (key, value)
        SELECT 'overview.rolled-up-to', CAST(${due} AS TEXT) WHERE EXISTS (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM ledger);
  `;
}

/** Now in milliseconds, in each dialect. */
export const NOW_MS = {
  sqlite: "CAST(strftime('%s', 'now') AS INTEGER) * 1000",
  postgres: "CAST(extract(epoch FROM now()) * 1000 AS BIGINT)",
};

/** Cloudauth's nine actions, written out: a shipped migration never changes, whatever the tariff becomes. */
const CLOUDAUTH_ACTIONS_OF_MIGRATION_16 = [
  "Mobile3MetaSimpleVerify",
  "Mobile3MetaDetailVerify",
  "Mobile3MetaSimpleStandardVerify",
  "Mobile3MetaDetailStandardVerify",
  "Mobile2MetaVerify",
  "Id2MetaVerify",
  "Id2MetaStandardVerify",
  "MobileOnlineStatus",
  "MobileOnlineTime",
];

/** Each Cloudauth action at Alibaba's 50/s, or at the account's own limit where that is lower (`min` or `least`). */
function cloudauthLimitsOfMigration16(lower: "min" | "least"): string {
  return CLOUDAUTH_ACTIONS_OF_MIGRATION_16.map((action) => `'${action}', ${lower}(50, rate_limit)`).join(", ");
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "accounts, keys, records, audit, meta",
    sqlite: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE accounts (
        account_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE api_keys (
        secret_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        secret_sealed BLOB NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX api_keys_account ON api_keys(account_id);
      CREATE TABLE records (
        phone_hash BLOB PRIMARY KEY,
        name_hash BLOB NOT NULL,
        idcard_hash BLOB NOT NULL,
        carrier TEXT NOT NULL,
        status TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX records_idcard ON records(idcard_hash);
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        account_id TEXT,
        secret_id TEXT,
        action TEXT,
        code TEXT NOT NULL,
        phone_masked TEXT,
        latency_us INTEGER NOT NULL
      );
      CREATE INDEX audit_account_at ON audit(account_id, at);
    `,
    postgres: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE accounts (
        account_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE api_keys (
        secret_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        secret_sealed BYTEA NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
      );
      CREATE INDEX api_keys_account ON api_keys(account_id);
      CREATE TABLE records (
        phone_hash BYTEA PRIMARY KEY,
        name_hash BYTEA NOT NULL,
        idcard_hash BYTEA NOT NULL,
        carrier TEXT NOT NULL,
        status TEXT NOT NULL
      );
      CREATE INDEX records_idcard ON records(idcard_hash);
      CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        request_id TEXT NOT NULL,
        account_id TEXT,
        secret_id TEXT,
        action TEXT,
        code TEXT NOT NULL,
        phone_masked TEXT,
        latency_us BIGINT NOT NULL
      );
      CREATE INDEX audit_account_at ON audit(account_id, at);
    `,
  },
  {
    version: 2,
    description: "account states, limits and balance; the charging ledger; verify mode in the audit",
    sqlite: `
      ALTER TABLE accounts ADD COLUMN activated INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE accounts ADD COLUMN identity_verified INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE accounts ADD COLUMN billing TEXT NOT NULL DEFAULT 'ok';
      ALTER TABLE accounts ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 20;
      ALTER TABLE accounts ADD COLUMN daily_cap INTEGER NOT NULL DEFAULT 20;
      -- amounts are integers in fen (0.01 CNY); accounts older than balances start with 1000.00
      ALTER TABLE accounts ADD COLUMN balance INTEGER NOT NULL DEFAULT 100000;
      CREATE TABLE ledger (
        request_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        secret_id TEXT NOT NULL,
        action TEXT NOT NULL,
        mode TEXT NOT NULL,
        unit_price INTEGER NOT NULL,
        at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX ledger_account_at ON ledger(account_id, at);
      ALTER TABLE audit ADD COLUMN mode TEXT;
    `,
    postgres: `
      ALTER TABLE accounts ADD COLUMN activated INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE accounts ADD COLUMN identity_verified INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE accounts ADD COLUMN billing TEXT NOT NULL DEFAULT 'ok';
      ALTER TABLE accounts ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 20;
      ALTER TABLE accounts ADD COLUMN daily_cap INTEGER NOT NULL DEFAULT 20;
      ALTER TABLE accounts ADD COLUMN balance BIGINT NOT NULL DEFAULT 100000;
      CREATE TABLE ledger (
        request_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        secret_id TEXT NOT NULL,
        action TEXT NOT NULL,
        mode TEXT NOT NULL,
        unit_price BIGINT NOT NULL,
        at BIGINT NOT NULL
      );
      CREATE INDEX ledger_account_at ON ledger(account_id, at);
      ALTER TABLE audit ADD COLUMN mode TEXT;
    `,
  },
  {
    version: 3,
    description: "KMS keys (material sealed under the installation secret); accounts' KMS authorisation for FaceID",
    sqlite: `
      ALTER TABLE accounts ADD COLUMN kms_authorized INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE kms_keys (
        key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        region TEXT NOT NULL,
        alias TEXT NOT NULL,
        description TEXT NOT NULL,
        key_usage TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        material_sealed BLOB NOT NULL
      );
      CREATE UNIQUE INDEX kms_keys_alias ON kms_keys(account_id, region, alias);
      CREATE INDEX kms_keys_listing ON kms_keys(account_id, region, created_at);
    `,
    postgres: `
      ALTER TABLE accounts ADD COLUMN kms_authorized INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE kms_keys (
        seq BIGSERIAL,
        key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        region TEXT NOT NULL,
        alias TEXT NOT NULL,
        description TEXT NOT NULL,
        key_usage TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        material_sealed BYTEA NOT NULL
      );
      CREATE UNIQUE INDEX kms_keys_alias ON kms_keys(account_id, region, alias);
      CREATE INDEX kms_keys_listing ON kms_keys(account_id, region, created_at, seq);
    `,
  },
  {
    version: 4,
    description: "the day's attempt counts behind the daily caps (embedded mode; scale-out keeps them in Redis)",
    sqlite: `
      CREATE TABLE daily_counts (
        day TEXT NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (day, key)
      ) WITHOUT ROWID;
    `,
    postgres: `
      CREATE TABLE daily_counts (
        day TEXT NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (day, key)
      );
    `,
  },
  {
    version: 5,
    description: "the audit trail keeps an action's detail under generic names (any product's, not one action's)",
    sqlite: `
      ALTER TABLE audit RENAME COLUMN mode TO variant;
      ALTER TABLE audit RENAME COLUMN phone_masked TO subject;
    `,
    postgres: `
      ALTER TABLE audit RENAME COLUMN mode TO variant;
      ALTER TABLE audit RENAME COLUMN phone_masked TO subject;
    `,
  },
  {
    version: 6,
    description: "records carry a line status and a network-entry date (MobileStatus, MobileNetworkTimeVerification)",
    // The embedded store keeps its records in records.db, migrated by sqlite/records-file.ts.
    sqlite: "",
    postgres: `
      ALTER TABLE records ADD COLUMN line_status TEXT;
      ALTER TABLE records ADD COLUMN network_since TEXT;
    `,
  },
  {
    version: 7,
    description: "keyed hashes of digests let hashed inputs find records (EncryptedPhoneVerification); re-import to fill",
    sqlite: "",
    postgres: `
      CREATE TABLE record_digests (
        digest_key BYTEA PRIMARY KEY,
        phone_hash BYTEA NOT NULL,
        pair_hash BYTEA NOT NULL
      );
    `,
  },
  {
    version: 8,
    description: "per-action rate limits (faceid-family.md §7.18): IdCardVerification's default of 100/s for accounts below it",
    sqlite: `
      ALTER TABLE accounts ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '{}';
      UPDATE accounts SET rate_limits = '{"IdCardVerification":100}' WHERE rate_limit < 100;
    `,
    postgres: `
      ALTER TABLE accounts ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '{}';
      UPDATE accounts SET rate_limits = '{"IdCardVerification":100}' WHERE rate_limit < 100;
    `,
  },
  {
    version: 9,
    description: "the test kit: test keys with their own ledger, scenario answers marked in the audit, the scenarios",
    sqlite: `
      ALTER TABLE api_keys ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE audit ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE audit ADD COLUMN scenario TEXT;
      CREATE TABLE scenarios (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        spec TEXT NOT NULL,
        remaining INTEGER,
        created_at TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
    postgres: `
      ALTER TABLE api_keys ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE audit ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE audit ADD COLUMN scenario TEXT;
      CREATE TABLE scenarios (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        spec TEXT NOT NULL,
        remaining INTEGER,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 10,
    description: "gateway mode: the upstream's RequestId beside each charge, and upstream calls whose answer was lost",
    sqlite: `
      ALTER TABLE ledger ADD COLUMN upstream_request_id TEXT;
      CREATE TABLE upstream_unknown (
        request_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        secret_id TEXT NOT NULL,
        action TEXT NOT NULL,
        at INTEGER NOT NULL,
        reason TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
    postgres: `
      ALTER TABLE ledger ADD COLUMN upstream_request_id TEXT;
      CREATE TABLE upstream_unknown (
        request_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        secret_id TEXT NOT NULL,
        action TEXT NOT NULL,
        at BIGINT NOT NULL,
        reason TEXT NOT NULL
      );
    `,
  },
  {
    version: 11,
    description: "gateway mode: a team's spend cap per calendar month (China time), in fen; 0 = none",
    sqlite: "ALTER TABLE accounts ADD COLUMN monthly_budget INTEGER NOT NULL DEFAULT 0;",
    postgres: "ALTER TABLE accounts ADD COLUMN monthly_budget BIGINT NOT NULL DEFAULT 0;",
  },
  {
    version: 12,
    description: "gateway mode: answers from the cache of paid answers are marked in the audit (usage counts them apart)",
    sqlite: "ALTER TABLE audit ADD COLUMN cache TEXT;",
    postgres: "ALTER TABLE audit ADD COLUMN cache TEXT;",
  },
  {
    version: 13,
    description:
      "the operations API: top-ups with the operator's note; the ledger indexed by account, real or test, and time (every " +
      "ledger query names all three: a page, a count, a month's spend); a partial index for the gateway's cache counts",
    sqlite: `
      CREATE TABLE top_ups (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        amount INTEGER NOT NULL,
        note TEXT NOT NULL,
        at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX top_ups_account_at ON top_ups(account_id, at);
      CREATE INDEX ledger_account_test_at ON ledger(account_id, test, at);
      DROP INDEX ledger_account_at;
      CREATE INDEX audit_cache_at ON audit(at) WHERE cache IS NOT NULL;
    `,
    postgres: `
      CREATE TABLE top_ups (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        amount BIGINT NOT NULL,
        note TEXT NOT NULL,
        at BIGINT NOT NULL
      );
      CREATE INDEX top_ups_account_at ON top_ups(account_id, at);
      CREATE INDEX ledger_account_test_at ON ledger(account_id, test, at);
      DROP INDEX ledger_account_at;
      CREATE INDEX audit_cache_at ON audit(at) WHERE cache IS NOT NULL;
    `,
  },
  {
    version: 14,
    description:
      "the console: sign-in sessions kept as digests of their cookies (never the cookie itself), expiring and revocable; " +
      "the overview's hourly rollup of calls, charges and latencies, and covering indexes on time for the hours not rolled " +
      "up yet (audit_overview, ledger_overview: counted from the index alone); an account's spend summed from its index " +
      "alone (ledger_account_spend in place of ledger_account_test_at)",
    sqlite: `
      CREATE TABLE console_sessions (
        digest BLOB PRIMARY KEY,
        role TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX console_sessions_last_seen ON console_sessions(last_seen_at);
      CREATE INDEX audit_overview ON audit(at, test, action, code, latency_us);
      CREATE INDEX ledger_overview ON ledger(at, test, action, unit_price);
      CREATE INDEX ledger_account_spend ON ledger(account_id, test, at, unit_price);
      DROP INDEX ledger_account_test_at;
      CREATE TABLE overview_calls (
        hour INTEGER NOT NULL, action TEXT NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (hour, action, code)
      ) WITHOUT ROWID;
      CREATE TABLE overview_charges (
        hour INTEGER NOT NULL, action TEXT NOT NULL, n INTEGER NOT NULL, amount INTEGER NOT NULL,
        PRIMARY KEY (hour, action)
      ) WITHOUT ROWID;
      CREATE TABLE overview_latencies (
        hour INTEGER NOT NULL, latency_class INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (hour, latency_class)
      ) WITHOUT ROWID;
      ${rollUpHistory(NOW_MS.sqlite)}
    `,
    postgres: `
      CREATE TABLE console_sessions (
        digest BYTEA PRIMARY KEY,
        role TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL
      );
      CREATE INDEX console_sessions_last_seen ON console_sessions(last_seen_at);
      CREATE INDEX audit_overview ON audit(at, test, action, code, latency_us);
      CREATE INDEX ledger_overview ON ledger(at, test, action, unit_price);
      CREATE INDEX ledger_account_spend ON ledger(account_id, test, at, unit_price);
      DROP INDEX ledger_account_test_at;
      CREATE TABLE overview_calls (
        hour BIGINT NOT NULL, action TEXT NOT NULL, code TEXT NOT NULL, n BIGINT NOT NULL,
        PRIMARY KEY (hour, action, code)
      );
      CREATE TABLE overview_charges (
        hour BIGINT NOT NULL, action TEXT NOT NULL, n BIGINT NOT NULL, amount BIGINT NOT NULL,
        PRIMARY KEY (hour, action)
      );
      CREATE TABLE overview_latencies (
        hour BIGINT NOT NULL, latency_class INTEGER NOT NULL, n BIGINT NOT NULL,
        PRIMARY KEY (hour, latency_class)
      );
      ${rollUpHistory(NOW_MS.postgres)}
    `,
  },
  {
    version: 15,
    description:
      "the daily caps' attempts as an append-only log beside their counts (embedded mode writes the log per request and folds it into the counts in batches)",
    sqlite: `
      CREATE TABLE daily_attempts (day TEXT NOT NULL, key TEXT NOT NULL);
    `,
    postgres: `
      CREATE TABLE daily_attempts (day TEXT NOT NULL, key TEXT NOT NULL);
    `,
  },
  {
    version: 16,
    description:
      "Cloudauth's per-action limits (alibaba-cloudauth.md §8.8) for accounts made before it: each action the account " +
      "has no limit of its own for gets 50/s, or the account-wide limit where that is lower; a stored value that is " +
      "not a JSON object counts as no limits of its own",
    // The account's own entries win: json_patch and jsonb || both keep the right-hand side's keys. The reader takes
    // '' (and anything not an object) for no limits, so such a row must not stop the upgrade nor end up as junk.
    sqlite: `
      UPDATE accounts SET rate_limits = json_patch(
        json_object(${cloudauthLimitsOfMigration16("min")}),
        CASE WHEN NOT json_valid(rate_limits) THEN '{}' WHEN json_type(rate_limits) = 'object' THEN rate_limits ELSE '{}' END
      );
    `,
    // PostgreSQL 15 has no IS JSON: a row whose text does not parse is set to '{}' first, one row at a time.
    postgres: `
      DO $$
      DECLARE account RECORD;
      BEGIN
        FOR account IN SELECT account_id, rate_limits FROM accounts LOOP
          BEGIN
            PERFORM account.rate_limits::jsonb;
          EXCEPTION WHEN data_exception THEN
            UPDATE accounts SET rate_limits = '{}' WHERE account_id = account.account_id;
          END;
        END LOOP;
      END $$;
      UPDATE accounts SET rate_limits = (
        jsonb_build_object(${cloudauthLimitsOfMigration16("least")})
        || CASE WHEN jsonb_typeof(rate_limits::jsonb) = 'object' THEN rate_limits::jsonb ELSE '{}'::jsonb END
      )::text;
    `,
  },
  {
    version: 17,
    description:
      "md5 digest rows keep a keyed hash of the name's digest alone (Cloudauth's Mobile2MetaVerify in md5 mode); rows " +
      "imported before stay without one, and their numbers answer as not on record until imported again",
    // The embedded store keeps its records in records.db, migrated by sqlite/records-file.ts (its step 4).
    sqlite: "",
    postgres: "ALTER TABLE record_digests ADD COLUMN name_digest BYTEA;",
  },
];
