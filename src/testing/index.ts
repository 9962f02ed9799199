/**
 * `import { startSanyao } from "sanyao/testing"`: a server for one test file, on a free port over a throw-away data
 * directory with the built-in fixtures (the demo table in docs/getting-started.md), and handles on its scenarios and request log.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { SignatureDiagnosis } from "../api3/diagnose";
import { loadConfig } from "../app/config";
import { type DemoCredentials, prepareDemo } from "../app/demo";
import { openInstallation } from "../app/installation";
import { type RunningServer, startServer } from "../app/server";
import type { LoggedCall } from "../operations/request-log";
import type { ScenarioInput, shownScenario } from "../testkit/scenario";

export type { LoggedCall } from "../operations/request-log";
export type { SignatureDiagnosis } from "../api3/diagnose";
export type ListedScenario = ReturnType<typeof shownScenario>;

/** A scenario as `scenarios.add` takes it: `account` defaults to the fixture account. */
export type ScenarioRequest = Omit<ScenarioInput, "account"> & { account?: string };

export interface StartOptions {
  /** SANYAO_* settings of this server only (the process environment is not read), e.g. { SANYAO_RATE_LIMIT: "1000" } */
  env?: Record<string, string>;
}

export interface Sanyao {
  /** http://127.0.0.1:PORT — an SDK takes it as endpoint "127.0.0.1:PORT" with protocol "http://" */
  endpoint: string;
  /** the fixture account's key */
  credential: { secretId: string; secretKey: string };
  accountId: string;
  /** the operations API's token */
  adminToken: string;
  scenarios: {
    add(scenario: ScenarioRequest): Promise<ListedScenario>;
    list(): Promise<ListedScenario[]>;
    remove(id: string): Promise<void>;
    clear(): Promise<void>;
  };
  /** the last calls answered, oldest first (at most 1000) */
  requests(options?: { limit?: number }): Promise<LoggedCall[]>;
  /** why a call was refused with AuthFailure.*, by its RequestId */
  explain(requestId: string): Promise<SignatureDiagnosis>;
  /** stops the server and removes its data directory */
  close(): Promise<void>;
}

export async function startSanyao(options: StartOptions = {}): Promise<Sanyao> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-testing-"));
  try {
    const config = loadConfig({ dataDir, port: 0, host: "127.0.0.1" }, { SANYAO_LOG_LEVEL: "silent", ...options.env });
    const installation = await openInstallation(config);
    let demo: DemoCredentials | undefined;
    let server: RunningServer;
    try {
      // A fresh directory: the demo is made now (whatever SANYAO_DEMO says), so its key is there to hand out.
      demo = await prepareDemo(installation, config.accountDefaults, { make: true });
      if (!demo) throw new Error("the test installation has no demo key");
      server = await startServer({ config, installation });
    } catch (err) {
      await installation.close(); // else its store keeps the test process alive
      throw err;
    }
    const { accountId } = demo;
    const adminToken = server.adminToken.token;
    // A test server always has its token: made at the first start of its fresh data directory.
    if (adminToken === undefined) {
      await server.close();
      throw new Error("the test server has no operator token");
    }
    const ops = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${server.opsUrl}/_sanyao/${route}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const answer = (await res.json()) as T & { error?: string };
      if (!res.ok) throw new Error(answer.error ?? `operations API: HTTP ${res.status}`);
      return answer;
    };
    return {
      endpoint: server.url,
      credential: { secretId: demo.secretId, secretKey: demo.secretKey },
      accountId,
      adminToken,
      scenarios: {
        add: async (s) => (await ops<{ scenario: ListedScenario }>("POST", "scenarios", { account: accountId, ...s })).scenario,
        list: async () => (await ops<{ scenarios: ListedScenario[] }>("GET", "scenarios")).scenarios,
        remove: async (id) => void (await ops("DELETE", `scenarios/${encodeURIComponent(id)}`)),
        clear: async () => void (await ops("DELETE", "scenarios")),
      },
      requests: async ({ limit = 1000 } = {}) => (await ops<{ requests: LoggedCall[] }>("GET", `requests?limit=${limit}`)).requests,
      explain: async (requestId) =>
        (await ops<{ diagnosis: SignatureDiagnosis }>("GET", `explain/${encodeURIComponent(requestId)}`)).diagnosis,
      async close() {
        await server.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
