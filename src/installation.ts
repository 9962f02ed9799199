/** An installation: its data directory, secret and store, opened the same way by the server and the CLI. */
import { Keyring, loadOrCreateSecret } from "./secret";
import type { Store } from "./store/contract";
import { SqliteStore, type SqliteSync } from "./store/sqlite";

export interface Installation {
  dataDir: string;
  keyring: Keyring;
  store: Store;
  /** true when this call created the installation secret */
  fresh: boolean;
}

export function openInstallation(dataDir: string, sync: SqliteSync = "normal"): Installation {
  const { secret, created } = loadOrCreateSecret(dataDir);
  const keyring = new Keyring(secret);
  return { dataDir, keyring, store: new SqliteStore(dataDir, keyring, sync), fresh: created };
}
