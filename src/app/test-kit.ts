/**
 * The test kit as the server composes it: FaceID for test keys (fixtures, test ledger, daily counts apart), and the
 * hooks it plugs into every call's path (call/hooks.ts) — scenarios before authentication (a moved clock) and
 * before an admitted call's answer, signature diagnoses on a refused signature, the request log after the answer —
 * and what the operations API shows of them.
 */
import { diagnose } from "../api3/diagnose";
import { type AcsRefusal, diagnoseAcs } from "../aliyun/diagnose";
import type { AuthFailure } from "../api3/pipeline";
import type { Product } from "../api3/router";
import type { CallHooks } from "../call/hooks";
import type { Logger } from "../http/log";
import type { FaceIdDeps } from "../faceid/deps";
import { faceidProduct } from "../faceid/product";
import { adminTokenFor, readOnlyTokenFor, type Tokens } from "../operations/admin-token";
import { Diagnoses } from "../operations/diagnoses";
import { RequestLog } from "../operations/request-log";
import { RecordsSource } from "../sources/records";
import type { FreshCache } from "../store/fresh-cache";
import { fixtureRecords } from "../testkit/fixtures";
import { ScenarioBook } from "../testkit/scenario-book";
import type { Config } from "./config";
import { demoRecords } from "./demo";
import type { Installation } from "./installation";

export interface TestKit {
  faceidForTestKeys: Product;
  /** what test keys' calls are answered with, whatever the product: fixtures, the test ledger, daily counts apart */
  depsForTestKeys: FaceIdDeps;
  /** diagnoses a refused Alibaba signature (undefined: nobody can read them) */
  onRefusedAcsSignature: ((refusal: AcsRefusal) => void) | undefined;
  /** the test kit's hooks of the call's path */
  hooks: CallHooks<AuthFailure>;
  /** whether the request log is kept (the pipeline then notes each call's parameter names and facts) */
  recordsCalls: boolean;
  adminToken: { token: string | undefined; created: boolean };
  /** the operations API's tokens: with neither, the API is off */
  tokens: Tokens;
  /** what the operations API shows of the test kit */
  scenarios: ScenarioBook;
  requests: RequestLog;
  diagnoses: Diagnoses;
  /** stops reading the scenarios */
  stop(): void;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function startTestKit(o: {
  config: Config;
  installation: Installation;
  faceidDeps: FaceIdDeps;
  fresh: FreshCache;
  logger: Logger;
  clock: () => number;
  /** the port the server listens on, once it does */
  port: () => number | undefined;
}): Promise<TestKit> {
  const { store, keyring } = o.installation;
  const daily = o.faceidDeps.dailyCounter;
  // The fixtures are the demo records: the demo table of docs/getting-started.md.
  const depsForTestKeys: FaceIdDeps = {
    ...o.faceidDeps,
    source: new RecordsSource(await fixtureRecords(demoRecords, keyring, o.clock()), keyring),
    ledger: { charge: (entry) => o.fresh.charge({ ...entry, test: true }) },
    dailyCounter: {
      attempt: (keys, cap, day) =>
        daily.attempt(
          keys.map((k) => `test:${k}`),
          cap,
          day,
        ),
    },
  };
  const faceidForTestKeys = faceidProduct(depsForTestKeys);
  const adminToken = adminTokenFor(o.config.adminToken, o.installation.dataDir, o.installation.fresh);
  const tokens: Tokens = { operator: adminToken.token, readOnly: readOnlyTokenFor(o.config.readOnlyToken, o.installation.dataDir) };
  const scenarios = new ScenarioBook(
    store.scenarios,
    keyring,
    (secretId) => o.fresh.resolveKey(secretId),
    (err) => o.logger.warn({ err: message(err) }, "scenarios could not be read"),
  );
  await scenarios.start();
  // A log or diagnoses nobody can read (the operations API off) would cost every call for nothing.
  const on = tokens.operator !== undefined || tokens.readOnly !== undefined;
  const requests = new RequestLog();
  const diagnoses = new Diagnoses();
  const hooks: CallHooks<AuthFailure> = {
    beforeAuthentication: (call) => scenarios.clockShift(call),
    beforeAnswer: (call) => scenarios.pick(call),
  };
  const mask = (value: string) => keyring.hash("diagnostics", value).toString("hex").slice(0, 16);
  const onRefusedAcsSignature = on
    ? (refusal: AcsRefusal) =>
        diagnoses.addFor(
          refusal,
          (r) => diagnoseAcs(r, { keys: (secretId) => o.fresh.resolveKey(secretId), mask }),
          (r) => ({
            requestId: r.requestId,
            code: r.code,
            signatureMethod: "unknown",
            clock: { serverTime: new Date(r.nowSeconds * 1000).toISOString(), windowSeconds: 900 },
            hostsTried: [],
            likelyCauses: ["Not diagnosed: too many calls a second were refused. Make this call again on its own to have it diagnosed."],
          }),
          (err) => o.logger.warn({ err: message(err) }, "signature diagnosis failed"),
        )
    : undefined;
  if (on) {
    hooks.onRefusedSignature = (failure) =>
      diagnoses.add(
        failure,
        (refused) =>
          diagnose(refused, {
            keys: (secretId) => o.fresh.resolveKey(secretId),
            mask,
            localPort: o.port(),
          }),
        (err) => o.logger.warn({ err: message(err) }, "signature diagnosis failed"),
      );
    hooks.afterAnswer = (call, atMs, latencyUs) => requests.record(call, atMs, latencyUs);
  }
  return {
    faceidForTestKeys,
    depsForTestKeys,
    onRefusedAcsSignature,
    hooks,
    recordsCalls: on,
    adminToken,
    tokens,
    scenarios,
    requests,
    diagnoses,
    stop: () => scenarios.stop(),
  };
}
