/**
 * Schema migrations, in order; a store applies those above its recorded version in one transaction each.
 * Never edit a migration that has shipped: add the next one.
 */
export interface Migration {
  version: number;
  description: string;
  sqlite: string;
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
  },
];
