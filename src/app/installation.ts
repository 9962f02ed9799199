/**
 * An installation: its secret, store and (in scale-out mode) shared counters, opened the same way by the server
 * and the CLI. Embedded: a data directory with the secret and a SQLite file. Scale-out: PostgreSQL and Redis by
 * URL, with the secret every instance must share. Either has a journal of paid answers on the instance's own disk
 * (SANYAO_JOURNAL_DIR; a SQLite file made at its first entry). Each mode's driver (better-sqlite3; pg and ioredis)
 * is loaded when an installation is opened, not before: the typed client (`require("sanyao")`) loads none.
 */
import fs from "node:fs";
import { ConfigError, type Config, servingProcesses } from "./config";
import { FailureReporter } from "../common/failures";
import type { DailyCountLog } from "../limits/contract";
import type { RedisLimits } from "../limits/redis";
import { hasInstallation, Keyring, loadOrCreateSecret, parseSecret } from "../common/keyring";
import type { SqliteStore } from "../store/sqlite/store";
import { storageOver, type Storage } from "../store/storage";
import { UnsettledPaidAnswers } from "../store/paid-answers";
import { EnvelopeKeys } from "../encryption/envelope-keys";

/** One load per installation; a failed one (the store away) is tried again on the next call. */
function envelopeKeysOf(store: Storage, keyring: Keyring): () => Promise<EnvelopeKeys> {
  let loading: Promise<EnvelopeKeys> | undefined;
  return () => {
    loading ??= EnvelopeKeys.open(store.meta, keyring).catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
}

export interface Installation {
  mode: "embedded" | "scale-out";
  /** embedded mode only */
  dataDir: string | undefined;
  keyring: Keyring;
  store: Storage;
  /** the embedded store's adapter, for tests and tooling that reach below the ports (its writer thread) */
  sqlite: SqliteStore | undefined;
  /** counters shared by all instances, when SANYAO_REDIS_URL is set */
  sharedLimits: RedisLimits | undefined;
  /** embedded mode: where the in-process daily counters keep the day's counts */
  dailyLog: DailyCountLog | undefined;
  /** true when this call created the installation: embedded, its secret (first start); scale-out, its tables */
  fresh: boolean;
  /** the key pairs of the public-key field encryption, made at first use and then read once */
  envelopeKeys: () => Promise<EnvelopeKeys>;
  /** where background failures of the store and counters go (stderr until the server points it at its log) */
  failures: FailureReporter;
  /** paid answers the store could not take yet: in the journal, or held in memory; the server replays them */
  paid: UnsettledPaidAnswers;
  close(): Promise<void>;
}

export const SECRET_HELP =
  "In scale-out mode every instance must use the same installation secret. Create one once with\n" +
  "  sanyao secret create --out /etc/sanyao/secret\n" +
  "and give it to every instance as SANYAO_SECRET_FILE=/etc/sanyao/secret (or its 64 hex characters as SANYAO_SECRET).";

function scaleOutSecret(config: Config): Buffer {
  if (config.secretFile) {
    let text: string;
    try {
      text = fs.readFileSync(config.secretFile, "utf8");
    } catch (err) {
      throw new ConfigError(
        `Cannot read SANYAO_SECRET_FILE ${config.secretFile}: ${err instanceof Error ? err.message : String(err)}\n${SECRET_HELP}`,
      );
    }
    return parseSecret(text, "SANYAO_SECRET_FILE");
  }
  if (config.secretHex) return parseSecret(config.secretHex, "SANYAO_SECRET");
  throw new ConfigError(`No installation secret.\n${SECRET_HELP}`);
}

/**
 * Opens the installation the config names. `create` (the server's first start): an empty data directory becomes
 * a new installation. Without it (every other command) a directory with no installation is refused: a mistyped
 * --data must not quietly start a second one.
 */
export async function openInstallation(config: Config, { create = true }: { create?: boolean } = {}): Promise<Installation> {
  const failures = new FailureReporter();
  const { SqlitePaidJournal } = await import("../store/sqlite/paid-journal");
  const paid = new UnsettledPaidAnswers(
    new SqlitePaidJournal(config.journalDir, (err) => failures.report("journal", err)),
    failures.report,
  );
  if (!config.databaseUrl) {
    if (config.redisUrl) throw new ConfigError("SANYAO_REDIS_URL goes with SANYAO_DATABASE_URL (scale-out mode).");
    if (!create && !hasInstallation(config.dataDir)) {
      throw new ConfigError(
        `No installation in ${config.dataDir}: start \`sanyao serve --data ${config.dataDir}\` once to create one, ` +
          "or point --data (SANYAO_DATA_DIR) at an existing one.",
      );
    }
    const { secret, created } = loadOrCreateSecret(config.dataDir);
    const keyring = new Keyring(secret);
    const { SqliteStore } = await import("../store/sqlite/store");
    const sqlite = new SqliteStore(config.dataDir, failures.report, config.sqliteSync, {
      servingProcesses: servingProcesses(config),
      mapBytes: config.recordsMapMb * 2 ** 20,
      cacheBytes: config.recordsCacheMb === undefined ? undefined : config.recordsCacheMb * 2 ** 20,
    });
    const store = storageOver(sqlite, keyring);
    return {
      mode: "embedded",
      dataDir: config.dataDir,
      keyring,
      store,
      sqlite,
      sharedLimits: undefined,
      dailyLog: sqlite,
      envelopeKeys: envelopeKeysOf(store, keyring),
      fresh: created,
      failures,
      paid,
      async close() {
        await store.close();
        paid.close();
      },
    };
  }
  const keyring = new Keyring(scaleOutSecret(config));
  const { PostgresStore } = await import("../store/postgres/store");
  const { RedisLimits } = await import("../limits/redis");
  const postgres = await PostgresStore.open({ url: config.databaseUrl, schema: config.databaseSchema }, failures.report, paid);
  const store = storageOver(postgres, keyring);
  const sharedLimits = config.redisUrl ? new RedisLimits(config.redisUrl, failures.report, config.redisPrefix) : undefined;
  return {
    failures,
    mode: "scale-out",
    dataDir: undefined,
    keyring,
    store,
    sqlite: undefined,
    sharedLimits,
    dailyLog: undefined,
    envelopeKeys: envelopeKeysOf(store, keyring),
    fresh: postgres.created,
    paid,
    async close() {
      await store.close();
      await sharedLimits?.close();
      paid.close();
    },
  };
}
