/**
 * The test kit as the server composes it: FaceID for test keys (fixtures, test ledger, daily counts apart), the
 * scenarios, the request log, signature diagnoses and the operations API that shows them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { diagnose } from "../api3/diagnose";
import type { AuthFailure } from "../api3/pipeline";
import type { Product } from "../api3/router";
import type { Logger } from "../http/log";
import { faceidProduct } from "../faceid/product";
import type { ThreeElementDeps } from "../faceid/three-elements";
import { adminTokenFor } from "../operations/admin-token";
import { Diagnoses } from "../operations/diagnoses";
import { RequestLog } from "../operations/request-log";
import { operationsApi } from "../operations/routes";
import { RecordsSource } from "../sources/records";
import type { FreshCache } from "../store/fresh-cache";
import { fixtureRecords } from "../testkit/fixtures";
import { ScenarioBook } from "../testkit/scenario-book";
import type { Config } from "./config";
import type { Installation } from "./installation";

export interface TestKit {
  faceidForTestKeys: Product;
  scenarios: ScenarioBook;
  /** kept only while the operations API is on: a log nobody can read would cost every call for nothing */
  requests: RequestLog | undefined;
  adminToken: { token: string | undefined; created: boolean };
  onAuthFailure: ((failure: AuthFailure) => void) | undefined;
  operations: (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => Promise<void>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function startTestKit(o: {
  config: Config;
  installation: Installation;
  faceidDeps: ThreeElementDeps;
  fresh: FreshCache;
  logger: Logger;
  clock: () => number;
  /** the port the server listens on, once it does */
  port: () => number | undefined;
}): Promise<TestKit> {
  const { store, keyring } = o.installation;
  const daily = o.faceidDeps.dailyCounter;
  const faceidForTestKeys = faceidProduct({
    ...o.faceidDeps,
    source: new RecordsSource(await fixtureRecords(keyring, o.clock()), keyring),
    ledger: { charge: (entry) => o.fresh.charge({ ...entry, test: true }) },
    dailyCounter: {
      attempt: (keys, cap, day) =>
        daily.attempt(
          keys.map((k) => `test:${k}`),
          cap,
          day,
        ),
    },
  });
  const adminToken = adminTokenFor(o.config.adminToken, o.installation.dataDir, o.installation.fresh);
  const scenarios = new ScenarioBook(store.scenarios, keyring, (err) =>
    o.logger.warn({ err: message(err) }, "scenarios could not be read"),
  );
  await scenarios.start();
  const on = adminToken.token !== undefined;
  const requests = new RequestLog();
  const diagnoses = new Diagnoses();
  return {
    faceidForTestKeys,
    scenarios,
    requests: on ? requests : undefined,
    adminToken,
    onAuthFailure: on
      ? (failure) =>
          diagnoses.add(
            failure,
            (refused) =>
              diagnose(refused, {
                keys: (secretId) => o.fresh.resolveKey(secretId),
                mask: (value) => keyring.hash("diagnostics", value).toString("hex").slice(0, 16),
                localPort: o.port(),
              }),
            (err) => o.logger.warn({ err: message(err) }, "signature diagnosis failed"),
          )
      : undefined,
    operations: operationsApi({
      token: adminToken.token,
      scenarios: { rows: store.scenarios, accounts: store.accounts, keyring, book: scenarios },
      requests,
      diagnoses,
    }),
  };
}
