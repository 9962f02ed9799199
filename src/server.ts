/** Composition root: builds the ports for the configured mode and starts HTTP. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { DestinationStream } from "pino";
import { createApiHandler } from "./api3/http";
import { Router } from "./api3/router";
import type { Config } from "./config";
import { phoneVerification } from "./faceid/phone-verification";
import { openInstallation, type Installation } from "./installation";
import { createLogger, type Logger } from "./log";
import { kmsProduct } from "./kms/actions";
import { KeyService } from "./kms/keys";
import type { DailyCounter, RateLimiter } from "./limits/contract";
import { MemoryDailyCounter, MemoryRateLimiter } from "./limits/memory";
import { loadRuleTables } from "./rules/tables";
import { RecordsSource } from "./sources/records";
import { FreshCache } from "./store/fresh-cache";

export interface ServerOptions {
  config: Config;
  /** milliseconds since the epoch; tests replay signed vectors at their own time */
  clock?: () => number;
  logDestination?: DestinationStream;
  /** an installation opened by the caller (the serve command opens it first to prepare the demo) */
  installation?: Installation;
  /** the counters of the rate limit and daily caps; in-process unless given (cluster workers share the primary's) */
  limits?: { rate: RateLimiter; daily: DailyCounter };
}

export interface RunningServer {
  url: string;
  port: number;
  installation: Installation;
  logger: Logger;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config } = options;
  const clock = options.clock ?? Date.now;
  const logger = createLogger(config.logLevel, options.logDestination);
  const installation = options.installation ?? openInstallation(config.dataDir, config.sqliteSync);
  const { store, keyring } = installation;

  const keys = new KeyService(store, clock);
  const fresh = new FreshCache(store);
  const faceid = phoneVerification({
    tables: loadRuleTables(),
    policy: config.policy,
    source: new RecordsSource(store, keyring),
    store: fresh,
    keyring,
    keys,
    rateLimiter: options.limits?.rate ?? new MemoryRateLimiter(),
    dailyCounter: options.limits?.daily ?? new MemoryDailyCounter(),
    prices: config.prices,
    sourceTimeoutMs: config.sourceTimeoutMs,
    onError: (err, requestId, stage) => logger.warn({ requestId, stage, err: String(err) }, `${stage} failed`),
  });
  const router = new Router()
    .register({ service: "faceid", versions: new Map([["2018-03-01", new Map([[faceid.name, faceid]])]]) })
    .register(kmsProduct(keys, config.kmsRegions));

  const handler = createApiHandler({
    router,
    keys: (secretId) => fresh.resolveKey(secretId),
    clock,
    defaultLanguage: config.defaultLanguage,
    onInternalError: (err, requestId) => logger.error({ requestId, err }, "internal error"),
    logger,
    audit: (entry) => store.appendAudit(entry),
  });
  // Headers up to 64 KiB reach us, so a GET over the 32 KiB API limit gets an envelope, not a bare 431.
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    port,
    installation,
    logger,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await store.close();
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    },
  };
}
