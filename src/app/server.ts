/** Composition root: builds the ports for the configured mode and starts HTTP. */
import type http from "node:http";
import type { DestinationStream } from "pino";
import { BodyBudget } from "../http/body";
import { ERRORS } from "../api3/errors";
import { afterResponse } from "../http/after-response";
import { type EndpointDeps, operationsHandler } from "../http/endpoints";
import { createApiHandler } from "../http/handler";
import type { AuthFailure } from "../api3/pipeline";
import { combineHooks } from "../call/hooks";
import { Router } from "../api3/router";
import type { Config } from "./config";
import { FACEID_RESULT_CODES, FACEID_VARIANTS, faceidProduct } from "../faceid/product";
import { openInstallation, type Installation } from "./installation";
import { holdListeners, type Listeners } from "./listeners";
import { kmsProduct } from "../kms/actions";
import { KeyService } from "../kms/keys";
import { FieldOpener } from "../faceid/field-decryption";
import { DecryptFailureBudget } from "../faceid/decrypt-budget";
import { fieldShapes } from "../faceid/field-shapes";
import type { ActiveMembers, DailyCounter, OpeningJudge, RateLimiter, SeenOnce, SpendCounter } from "../limits/contract";
import { MemoryActiveMembers, MemoryDailyCounter, MemoryOpeningJudge, MemoryRateLimiter, MemorySpendCounter } from "../limits/memory";
import { createLogging, type Logger } from "../http/log";
import { Metrics } from "../http/metrics";
import { loadRuleTables } from "../rules/tables";
import { RecordsSource } from "../sources/records";
import { FreshCache } from "../store/fresh-cache";
import type { Socket } from "node:net";
import type { FaceIdDeps } from "../faceid/deps";
import { startTestKit } from "./test-kit";
import type { OperationsContext } from "../operations/context";
import { RecentFailures } from "../operations/recent-failures";
import { OverviewAnswers } from "../admin/overview-answers";
import { OverviewRollup } from "../admin/overview-rollup";
import { sweepSpoolDirs } from "../operations/import-spool";
import { RecordImports } from "../operations/record-imports";
import { byTokens, dispatcher } from "../operations/dispatch";
import { CONSOLE_ROUTES, consolePlugin } from "../console/index";
// routes/index, not routes: a dist/ built before the table keeps a routes.js that would be found first
import { operationsTable } from "../operations/routes/index";
import { gatewayFaceidProduct } from "../gateway/forwarded-actions";
import { UpstreamSlots } from "../gateway/upstream-slots";
import { cloudauthOutsideGatewayMode } from "../gateway/cloudauth-refused";
import { TeamLimits } from "../gateway/team-limits";
import { AnswerCache } from "../gateway/answer-cache";
import { PaidWindow } from "../gateway/paid-window";
import { PaidReplay, STOPPED_REASON } from "../store/paid-replay";
import { UpstreamSource } from "../gateway/upstream-source";
import { cloudauthProduct } from "../cloudauth/product";
import { NonceWindow, type Nonces, SharedNonceWindow } from "../aliyun/nonces";
import { GATEWAY_ERRORS } from "../aliyun/errors";
import { CLOUDAUTH_OUTCOME_CODES } from "../cloudauth/results";

const nonceWindow = (shared: SeenOnce | undefined): Nonces => (shared ? new SharedNonceWindow(shared) : new NonceWindow());

export interface ServerOptions {
  config: Config;
  /** milliseconds since the epoch; tests replay signed vectors at their own time */
  clock?: () => number;
  logDestination?: DestinationStream;
  /** an installation opened by the caller (the serve command opens it first to prepare the demo) */
  installation?: Installation;
  /** listeners bound by the caller (the serve command holds its ports before it makes an installation) */
  listeners?: Listeners;
  /**
   * why this server does not read the records into the page cache at its start (logged); undefined: it reads them.
   * `serve --workers` has one worker read them: the cache is the machine's (or the database's), shared by all.
   */
  recordsReadElsewhere?: string;
  /**
   * counters for the rate limit and daily caps, the gateway's budgets and active teams, the decryption failures
   * with the AES-CBC block pins, and Alibaba's nonces:
   * Redis when configured, else these (`serve --workers`: kept by the primary process), else in-process
   */
  limits?: {
    rate: RateLimiter;
    daily: DailyCounter;
    spend?: SpendCounter;
    active?: ActiveMembers;
    openings?: OpeningJudge;
    seen?: SeenOnce;
  };
}

export interface RunningServer {
  url: string;
  port: number;
  /** where the operations API and /metrics answer: the operations listener (SANYAO_OPS_PORT), else `url` */
  opsUrl: string;
  opsPort: number;
  installation: Installation;
  logger: Logger;
  /** the operations API's token (undefined: the API is off); `created` at this start, to be printed once */
  adminToken: { token: string | undefined; created: boolean };
  close(): Promise<void>;
}

/** How long a shutdown waits for requests in flight before it closes their connections. */
const DRAIN_MS = 5000;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config } = options;
  const { fixedClockMs, clockOffsetMs } = config;
  const base = options.clock ?? (fixedClockMs === undefined ? Date.now : () => fixedClockMs);
  const clock = clockOffsetMs === 0 ? base : () => base() + clockOffsetMs;
  const logging = createLogging(config.logLevel, options.logDestination);
  const { logger } = logging;
  const installation = options.installation ?? (await openInstallation(config));
  const { store, keyring, sharedLimits } = installation;
  if (installation.mode === "scale-out" && !sharedLimits) {
    logger.warn("SANYAO_REDIS_URL is not set: rate limits, daily caps and gateway budgets are counted per instance, not across instances");
  }
  const limits = sharedLimits
    ? { rate: sharedLimits, daily: sharedLimits }
    : (options.limits ?? { rate: new MemoryRateLimiter(), daily: new MemoryDailyCounter(installation.dailyLog, config.dailyKeysInMemory) });

  const keys = new KeyService(store.kmsKeys, clock);
  const envelopeKeys = installation.envelopeKeys;
  // Made (or read) now, off the request path: an RSA key pair takes a while to generate.
  envelopeKeys().catch((err) => logger.error({ err: err instanceof Error ? err.message : String(err) }, "envelope keys failed to load"));
  // The request path reads keys and accounts through a short-lived cache, and charges through it too.
  const fresh = new FreshCache(store);
  const tables = loadRuleTables();
  // Called at request time only, once `metrics` (below) exists: it needs every routed action's name.
  const decryptBudget = new DecryptFailureBudget(
    sharedLimits ?? options.limits?.openings ?? new MemoryOpeningJudge(),
    config.decryptFailures,
    {
      failed: () => metrics.decryptFailure(),
      exhausted: (secretId) => {
        metrics.decryptLockout();
        logger.warn(
          { secretId, limit: config.decryptFailures.limit, windowS: config.decryptFailures.windowMs / 1000 },
          "decryption failures reached the budget: this SecretId's encrypted calls are refused until the window ends",
        );
      },
    },
  );
  const faceidDeps: FaceIdDeps = {
    tables,
    policy: config.policy,
    source: new RecordsSource(store.records, keyring),
    accounts: { get: (accountId) => fresh.getAccount(accountId) },
    ledger: { charge: (entry) => fresh.charge(entry) },
    keyring,
    fields: new FieldOpener(keys, envelopeKeys, fieldShapes(tables, config.policy), decryptBudget, keyring),
    rateLimiter: limits.rate,
    dailyCounter: limits.daily,
    // Cloudauth's actions are priced beside FaceID's, each with its own entry.
    prices: config.prices,
    sourceTimeoutMs: config.sourceTimeoutMs,
    onError: (err, requestId, stage) => logger.warn({ requestId, stage, err: String(err) }, `${stage} failed`),
  };
  // Gateway mode: while an upstream is set, FaceID calls are forwarded to it (gateway/).
  const upstream = new UpstreamSource(store.meta, keyring, config.upstream.url, clock);
  const upstreamState: { keyRefused: string | undefined } = { keyRefused: undefined };
  const answerCache = new AnswerCache(keyring, config.upstream.cacheTtlMs);
  const slots = new UpstreamSlots(
    limits.rate,
    sharedLimits ?? options.limits?.active ?? new MemoryActiveMembers(),
    config.upstream.rateLimit,
    clock,
  );
  const faceid = gatewayFaceidProduct(faceidProduct(faceidDeps), {
    faceid: faceidDeps,
    upstream: () => upstream.current(),
    slots,
    cache: answerCache,
    teams: new TeamLimits(
      sharedLimits ?? options.limits?.spend ?? new MemorySpendCounter(),
      limits.daily,
      store.ledger,
      keyring,
      (accountId, sinceMs) => installation.paid.waitingCharges(accountId, sinceMs),
    ),
    ledger: store.ledger,
    paid: installation.paid,
    window: new PaidWindow(),
    budgetMs: config.upstream.timeoutMs,
    onKeyRefused: (code, requestId) => {
      upstreamState.keyRefused = code;
      installation.failures.report("upstream-auth", new Error(`the upstream refused the company key (${code}); request ${requestId}`));
    },
    onUpstreamFailure: (reason, requestId) => logger.warn({ requestId, reason }, "upstream call failed"),
    onUnrecognised: (reason, requestId) => logger.warn({ requestId, reason }, "upstream answer listed as unknown"),
    onAnswered: () => {
      upstreamState.keyRefused = undefined;
    },
  });
  let boundPort: number | undefined;
  const testKit = await startTestKit({ config, installation, faceidDeps, fresh, logger, clock, port: () => boundPort });
  const router = new Router().register(faceid, testKit.faceidForTestKeys).register(kmsProduct(keys, config.kmsRegions));
  const hung = new Set<Socket>();

  // Gateway mode has no Alibaba upstream: live keys' Cloudauth calls are refused while an upstream is set.
  const cloudauth = cloudauthOutsideGatewayMode(cloudauthProduct(faceidDeps), async () => (await upstream.current()) !== undefined);
  const cloudauthCodes = [...Object.keys(GATEWAY_ERRORS), ...CLOUDAUTH_OUTCOME_CODES];
  const metrics = new Metrics(
    [...router.actionNames(), ...cloudauth.actions.keys()],
    [...Object.keys(ERRORS), ...FACEID_RESULT_CODES, ...cloudauthCodes, "OK", "reset", "hang"],
    FACEID_VARIANTS,
  );
  const recentFailures = new RecentFailures(clock);
  const overviewRollup = new OverviewRollup(store, clock, (err) => logger.warn({ err: String(err) }, "the overview's rollup failed"));
  installation.failures.reportTo((kind, err) => {
    recentFailures.add(kind, err);
    metrics.failure(kind);
    logger.error({ kind, err: err instanceof Error ? err.message : String(err) }, `${kind} failure`);
  });
  // Paid answers the store could not take (the journal, or memory): written to it now, then every 5 s.
  const { paid } = installation;
  metrics.watchPaidAnswers({ held: () => paid.heldCount, journaled: () => paid.journaled() });
  const replay = new PaidReplay(paid, store.ledger, {
    // A call's budget bounds its time with the upstream; its charge may then wait on a slow store a while.
    inFlightMs: config.upstream.timeoutMs + 5 * 60_000,
    onLeftOver: ({ requestId, accountId, action }, charged) =>
      logger.warn(
        { requestId, accountId, action },
        charged
          ? "a call that was with the upstream when sanyao stopped: charged already"
          : `a call that was with the upstream when sanyao stopped: listed as unknown (${STOPPED_REASON})`,
      ),
  });
  // The call's hooks, in the order of call/hooks.ts; the test kit's first, so its request log sees what the log line does.
  const hooks = combineHooks<AuthFailure>(testKit.hooks, { afterAnswer: afterResponse({ logger, metrics, audit: store.audit }) });
  // files of browser imports left by a process that was killed hold records in plaintext: gone before anything else
  sweepSpoolDirs();
  const imports = new RecordImports(store.meta, store.records, keyring, { tables, policy: config.policy }, clock);
  const operations: OperationsContext = {
    store,
    keyring,
    accountDefaults: config.accountDefaults,
    gateway: config.upstream,
    clock,
    scenarios: testKit.scenarios,
    requests: testKit.requests,
    diagnoses: testKit.diagnoses,
    metrics: { text: () => metrics.registry.metrics(), contentType: metrics.registry.contentType },
    upstreamKeyRefused: () => upstreamState.keyRefused,
    upstreamSlotUse: () => slots.use.lastSeconds(clock()),
    failures: recentFailures,
    overview: new OverviewAnswers(overviewRollup),
    imports,
    readiness: async () => {
      const checks: Record<string, string> = {};
      const probe = async (name: string, ping: () => Promise<void>) => {
        try {
          await ping();
          checks[name] = "ok";
        } catch (err) {
          checks[name] = err instanceof Error ? err.message : String(err);
        }
      };
      await Promise.all([probe("store", () => store.ping()), ...(sharedLimits ? [probe("redis", () => sharedLimits.ping())] : [])]);
      // A paid answer held in memory is lost if this process stops: not ready until the store (or the journal) has it.
      const held = paid.heldCount;
      if (held > 0) {
        checks["paid-answers"] =
          `${held} paid answer${held === 1 ? "" : "s"} held in memory: the journal ${paid.location} cannot be written and the store has not taken ${held === 1 ? "it" : "them"} yet`;
      }
      // The upstream's settings live in the store: with the store away they cannot be read, which is not ready
      // (503), not a failed probe (500).
      try {
        const client = await upstream.current();
        const refused = upstreamState.keyRefused;
        if (client) checks.upstream = refused ? `${client.url} refused the company key (${refused}): sanyao upstream set` : "ok";
      } catch (err) {
        checks.upstream = err instanceof Error ? err.message : String(err);
      }
      return { ready: Object.values(checks).every((v) => v === "ok"), checks };
    },
  };
  // The web console plugs in from outside the operations API: its routes, its session cookie, its files.
  const consoleParts = consolePlugin({ sessions: store.sessions, tokens: testKit.tokens, clock, dir: config.consoleDir });
  const endpointDeps: EndpointDeps = {
    logger,
    dispatch: consoleParts.serveFiles(
      dispatcher({
        routes: operationsTable(CONSOLE_ROUTES),
        ctx: { ...operations, console: consoleParts.parts },
        apiOn: byTokens(testKit.tokens).apiOn,
        identify: consoleParts.identify,
        onError: (err) => logger.error({ err }, "operations route failed"),
      }),
    ),
  };
  const handler = createApiHandler({
    ...endpointDeps,
    router,
    keys: (secretId) => fresh.resolveKey(secretId),
    clock,
    defaultLanguage: config.defaultLanguage,
    onInternalError: (err, requestId) => logger.error({ requestId, err }, "internal error"),
    onUnavailable: (err, requestId) => logger.warn({ requestId, dependency: err.dependency, err: err.message }, "dependency unavailable"),
    hooks,
    recordCalls: testKit.recordsCalls,
    operationsHere: config.ops === undefined,
    hung,
    acs: {
      product: cloudauth,
      productForTestKeys: cloudauthProduct(testKit.depsForTestKeys),
      keys: (secretId) => fresh.resolveKey(secretId),
      clock,
      // A replayed nonce is refused on whichever instance (Redis) or worker (the primary's) it lands, else here.
      nonces: nonceWindow(sharedLimits ?? options.limits?.seen),
      hooks,
      onInternalError: (err, requestId) => logger.error({ requestId, err }, "internal error"),
      onUnavailable: (err, requestId) => logger.warn({ requestId, dependency: err.dependency, err: err.message }, "dependency unavailable"),
      onRefusedSignature: testKit.onRefusedAcsSignature,
    },
    bodyBudget: new BodyBudget(config.transport.maxBodyBytesInFlight),
  });
  let held: Listeners;
  try {
    held = options.listeners ?? (await holdListeners(config));
  } catch (err) {
    // Not listening: nothing may keep the process alive (the scenarios' poll, the upstream's connections).
    testKit.stop();
    upstream.close();
    throw err;
  }
  held.serve(handler, held.ops && operationsHandler(endpointDeps));
  const server = held.public;
  const opsServer = held.ops;
  const listening = opsServer ? [server, opsServer] : [server];
  replay.start();
  overviewRollup.start();
  const port = boundPortOf(server);
  boundPort = port;
  // The records into the page cache, in the background: lookups in a large set not cached wait for the disk.
  const warming = new AbortController();
  const elsewhere = options.recordsReadElsewhere;
  if (elsewhere !== undefined && store.records.warm) logger.info({ reason: elsewhere }, "records not read into the page cache");
  const fileRead = (elsewhere === undefined ? store.records.warm?.(warming.signal) : undefined)?.then(
    (w) => {
      if (w.skipped) return logger.info({ reason: w.skipped }, "records not read into the page cache");
      const read = { bytes: w.bytes, of: w.of, seconds: Number(w.seconds.toFixed(1)), boundBy: w.boundBy };
      if (w.failed)
        return logger.warn({ ...read, left: w.failed.relations, err: w.failed.first }, "records read ahead in part: a read failed");
      logger.info(read, warming.signal.aborted ? "records read ahead in part: the server stopped" : "records read into the page cache");
    },
    (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, "records could not be read ahead"),
  );
  // then this process's own cache of them (every worker has one): after its read, or beside another worker's
  const fillCache = store.records.fillCache?.bind(store.records);
  const warmed = fillCache
    ? (fileRead ?? Promise.resolve())
        .then(() => fillCache(warming.signal))
        .then(
          (walk) => {
            if (walk.skipped) return logger.info({ reason: walk.skipped }, "records not walked into this process's cache");
            const done = { rows: walk.rows, seconds: Number(walk.seconds.toFixed(1)) };
            logger.info(done, walk.complete ? "records walked into this process's cache" : "records walked in part: the server stopped");
          },
          (err: unknown) =>
            logger.warn({ err: err instanceof Error ? err.message : String(err) }, "records could not be walked into this process's cache"),
        )
    : fileRead;
  const url = `http://${hostInUrl(config.host)}:${port}`;
  const opsPort = opsServer ? boundPortOf(opsServer) : port;
  return {
    url,
    port,
    opsUrl: config.ops ? `http://${hostInUrl(config.ops.host)}:${opsPort}` : url,
    opsPort,
    installation,
    logger,
    adminToken: testKit.adminToken,
    async close() {
      warming.abort();
      testKit.stop();
      await overviewRollup.stop();
      // a browser import is stopped (nothing of it applied) and its plaintext file removed before the store closes
      await imports.close();
      for (const socket of hung) socket.destroy();
      // Stop accepting, let requests in flight finish (bounded), then flush and close the store and counters. The
      // upstream's connections close only then: a call it is answering is paid for, and its answer is let in.
      await Promise.all(listening.map(drain));
      upstream.close();
      await replay.stop();
      await warmed;
      await installation.close();
      await logging.flush();
    },
  };
}

function boundPortOf(server: http.Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the server is not listening on a TCP port");
  return address.port;
}

/** An IPv6 address goes in brackets in a URL. */
const hostInUrl = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** Stops accepting and lets requests in flight finish, then closes what is left. */
function drain(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
