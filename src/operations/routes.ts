/**
 * The operations API beside the probes, under /_sanyao/: scenarios, the request log and signature diagnoses.
 * Every route wants the operator token (Authorization: Bearer …); without a token configured the API is off.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ScenarioBook } from "../testkit/scenario-book";
import { ScenarioInputError, shownScenario } from "../testkit/scenario";
import { isJsonObject, StoredDataError } from "../common/stored-json";
import { addScenario, listScenarios, type ScenarioStore } from "../testkit/scenario-store";
import { bearerMatches } from "./admin-token";
import type { Diagnoses } from "./diagnoses";
import type { RequestLog } from "./request-log";

export const OPERATIONS_PREFIX = "/_sanyao/";

export interface OperationsDeps {
  token: string | undefined;
  scenarios: ScenarioStore & { book: ScenarioBook };
  requests: RequestLog;
  diagnoses: Diagnoses;
}

const MAX_BODY = 64 * 1024;

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ScenarioInputError("The body is over 64 KiB."));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"));
      } catch {
        reject(new ScenarioInputError("The body is not JSON."));
      }
    });
    req.on("error", reject);
  });
}

export function operationsApi(deps: OperationsDeps) {
  return async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> => {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (!deps.token) {
      return json(404, {
        error: "The operations API is off: no operator token. Set SANYAO_ADMIN_TOKEN, or run `sanyao admin-token create`.",
      });
    }
    if (!bearerMatches(req.headers.authorization, deps.token)) {
      res.setHeader("www-authenticate", 'Bearer realm="sanyao operations"');
      return json(401, { error: "The operations API wants the operator token: Authorization: Bearer TOKEN." });
    }
    const route = path.slice(OPERATIONS_PREFIX.length).split("/");
    const account = query.get("account") ?? undefined;
    const { scenarios } = deps;
    try {
      if (route[0] === "scenarios" && route.length === 1) {
        if (req.method === "GET") return json(200, { scenarios: (await listScenarios(scenarios.rows, account)).map(shownScenario) });
        if (req.method === "POST") {
          const body = await readJson(req);
          if (!isJsonObject(body)) throw new ScenarioInputError("The body is a JSON object.");
          const scenario = await addScenario(scenarios, body);
          await scenarios.book.refresh();
          return json(201, { scenario: shownScenario(scenario) });
        }
        if (req.method === "DELETE") {
          const removed = await scenarios.rows.clear(account);
          await scenarios.book.refresh();
          return json(200, { removed });
        }
      }
      const [section, id, ...rest] = route;
      if (section === "scenarios" && id !== undefined && rest.length === 0 && req.method === "DELETE") {
        const removed = await scenarios.rows.remove(id);
        await scenarios.book.refresh();
        return removed ? json(200, { removed: 1 }) : json(404, { error: `No scenario ${id}.` });
      }
      if (route[0] === "requests" && route.length === 1) {
        if (req.method === "GET") {
          const limit = Math.min(Math.max(Number(query.get("limit") ?? 100) || 100, 1), 1000);
          return json(200, { requests: deps.requests.last(limit, account) });
        }
        if (req.method === "DELETE") {
          deps.requests.clear();
          return json(200, { cleared: true });
        }
      }
      if (section === "explain" && id !== undefined && rest.length === 0 && req.method === "GET") {
        const diagnosis = await deps.diagnoses.get(id);
        return diagnosis
          ? json(200, { diagnosis })
          : json(404, { error: `No diagnosis for ${id}: only calls refused with AuthFailure.* have one, the last 1000 of them.` });
      }
    } catch (err) {
      if (err instanceof ScenarioInputError) return json(400, { error: err.message });
      // a scenario damaged in the store: say which, and how to remove it (the message holds no value)
      if (err instanceof StoredDataError) return json(500, { error: err.message });
      throw err;
    }
    json(404, {
      error:
        "Operations routes: GET|POST|DELETE /_sanyao/scenarios, DELETE /_sanyao/scenarios/ID, GET|DELETE /_sanyao/requests, GET /_sanyao/explain/REQUEST_ID",
    });
  };
}
