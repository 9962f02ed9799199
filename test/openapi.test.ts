/**
 * The operations API's description is kept true: /_sanyao/openapi.json is well-formed OpenAPI 3.1, lists exactly
 * the routes the server serves, and every documented route, called as a client would, answers a documented status
 * with a body of the documented shape — with the token, without it (401), and with the read-only token (403 on
 * everything that changes something).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Ajv2020 from "ajv/dist/2020";
import { demoRecords } from "../src/app/demo";
import { CONSOLE_ROUTES } from "../src/console/index";
import { operationsTable } from "../src/operations/routes/index";
import { chinaDate } from "../src/rules/precheck";
import { faceidSdk } from "./helpers/sdk";
import { startTestServer, type TestServer } from "./helpers/server";

const TOKEN = "openapi-operator-token-000000";
const READ_TOKEN = "openapi-read-only-token-00000";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  security: unknown[];
  "x-sanyao-access": "anonymous" | "read" | "write";
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: Json;
}

/** How the test calls one documented operation: its path (and query), its body, and what it expects. */
interface Call {
  path: () => string;
  body?: () => unknown;
  status: number;
  /** a path where the thing is missing, for an operation that documents 404 */
  missing?: string;
  /** a body the schema refuses, for an operation that takes one */
  badBody?: unknown;
  /** csv: also asked for as CSV */
  csv?: boolean;
  keep?: (answer: Json) => void;
}

describe("the operations API's OpenAPI document", () => {
  let server: TestServer;
  let doc: Document;
  let raw: Record<string, unknown>;
  let key: { accountId: string; secretId: string; secretKey: string };
  let refusedRequestId = "";
  const made = { scenarioId: "", secretId: "", importId: "", requestId: "" };
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN, SANYAO_READ_ONLY_TOKEN: READ_TOKEN });
    key = await server.addAccount("openapi");
    await server.addRecords(demoRecords(chinaDate(Date.now())));
    const sdk = faceidSdk(server.port, key);
    assert.equal((await sdk.PhoneVerification(ALICE)).Result, "0");
    const wrong = faceidSdk(server.port, { ...key, secretKey: `${key.secretKey} ` });
    refusedRequestId = await wrong.PhoneVerification(ALICE).then(
      () => assert.fail("accepted"),
      (err: { requestId: string }) => err.requestId,
    );
    const res = await fetch(`${server.url}/_sanyao/openapi.json`);
    assert.equal(res.status, 200, "the document wants no token");
    raw = (await res.json()) as Record<string, unknown>;
    doc = raw as unknown as Document;
  });
  after(() => server?.close());

  const send = (method: string, path: string, token: string | undefined, body?: unknown, accept?: string) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(token && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { "content-type": "application/json" }),
        ...(accept && { accept }),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });

  /** The answer matches what the document says of that operation's status and media type. */
  async function conforms(res: Response, operation: Operation, what: string): Promise<Json | string> {
    const documented = operation.responses[String(res.status)];
    assert.ok(documented, `${what}: status ${res.status} is not documented (${Object.keys(operation.responses).join(", ")})`);
    const type = (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    const media = documented.content?.[type];
    assert.ok(media, `${what}: ${type} is not documented for ${res.status} (${Object.keys(documented.content ?? {}).join(", ")})`);
    const text = await res.text();
    if (type !== "application/json") return text;
    const body = JSON.parse(text) as Json;
    const validate = ajv.compile({ ...media.schema, components: doc.components });
    assert.ok(
      validate(body),
      `${what}: the ${res.status} answer does not fit its schema: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`,
    );
    return body;
  }

  const calls = (): Record<string, Call> => {
    const a = () => key.accountId;
    return {
      healthz: { path: () => "/healthz", status: 200 },
      readyz: { path: () => "/readyz", status: 200 },
      metrics: { path: () => "/metrics", status: 200 },
      openapi: { path: () => "/_sanyao/openapi.json", status: 200 },
      signIn: { path: () => "/_sanyao/session", body: () => ({ token: TOKEN }), badBody: { token: 5 }, status: 201 },
      getSession: { path: () => "/_sanyao/session", status: 401 },
      signOut: { path: () => "/_sanyao/session", status: 200 },
      overview: { path: () => "/_sanyao/overview?window=day", status: 200 },
      listScenarios: { path: () => `/_sanyao/scenarios?account=${a()}`, status: 200 },
      addScenario: {
        path: () => "/_sanyao/scenarios",
        body: () => ({ account: a(), action: "MobileStatus", error: "InternalError", times: 1 }),
        badBody: { account: a(), times: "many" },
        status: 201,
        keep: (answer) => {
          made.scenarioId = String((answer.scenario as Json).id);
        },
      },
      removeScenario: { path: () => `/_sanyao/scenarios/${made.scenarioId}`, status: 200, missing: "/_sanyao/scenarios/scn-000000000000" },
      clearScenarios: { path: () => `/_sanyao/scenarios?account=${a()}`, status: 200 },
      listRequests: {
        path: () => "/_sanyao/requests?limit=10&action=PhoneVerification&result=0&after=0",
        status: 200,
        keep: (answer) => {
          made.requestId = String(((answer.requests as Json[])[0] as Json).requestId);
        },
      },
      getRequest: { path: () => `/_sanyao/requests/${made.requestId}`, status: 200, missing: "/_sanyao/requests/no-such-request" },
      explain: { path: () => `/_sanyao/explain/${refusedRequestId}`, status: 200, missing: "/_sanyao/explain/no-such-request" },
      clearRequests: { path: () => "/_sanyao/requests", status: 200 },
      listAccounts: { path: () => "/_sanyao/accounts?search=openapi&limit=5", status: 200 },
      createAccount: {
        path: () => "/_sanyao/accounts",
        body: () => ({ name: "made by the parity test" }),
        badBody: { name: "" },
        status: 201,
      },
      getAccount: { path: () => `/_sanyao/accounts/${a()}`, status: 200, missing: "/_sanyao/accounts/100000000000" },
      updateAccount: {
        path: () => `/_sanyao/accounts/${a()}`,
        body: () => ({ dailyCap: 0, rateLimits: { MobileStatus: 50 }, monthlyBudget: "5000" }),
        badBody: { dailyCap: -1 },
        status: 200,
        missing: "/_sanyao/accounts/100000000000",
      },
      topUpAccount: {
        path: () => `/_sanyao/accounts/${a()}/top-ups`,
        body: () => ({ amount: "12.50", note: "parity test" }),
        badBody: { amount: "12.505" },
        status: 201,
        missing: "/_sanyao/accounts/100000000000/top-ups",
      },
      listTopUps: { path: () => `/_sanyao/accounts/${a()}/top-ups`, status: 200, missing: "/_sanyao/accounts/100000000000/top-ups" },
      listKeys: { path: () => `/_sanyao/accounts/${a()}/keys`, status: 200, missing: "/_sanyao/accounts/100000000000/keys" },
      createKey: {
        path: () => `/_sanyao/accounts/${a()}/keys`,
        body: () => ({ test: true }),
        badBody: { test: "yes" },
        status: 201,
        missing: "/_sanyao/accounts/100000000000/keys",
        keep: (answer) => {
          made.secretId = String((answer.key as Json).secretId);
        },
      },
      setKeyEnabled: {
        path: () => `/_sanyao/keys/${made.secretId}`,
        body: () => ({ enabled: false }),
        badBody: { enabled: "no" },
        status: 200,
        missing: "/_sanyao/keys/AKIDnosuchkey0000",
      },
      listLedger: {
        path: () => `/_sanyao/accounts/${a()}/ledger?action=PhoneVerification&limit=5`,
        status: 200,
        csv: true,
        missing: "/_sanyao/accounts/100000000000/ledger",
      },
      usage: { path: () => `/_sanyao/usage?account=${a()}`, status: 200, csv: true },
      recordStats: { path: () => "/_sanyao/records/stats", status: 200 },
      importRecords: {
        path: () => "/_sanyao/records/imports",
        body: () => "phone,name,idcard\n",
        status: 202,
        keep: (answer) => {
          made.importId = String((answer.import as Json).id);
        },
      },
      getRecordImport: {
        path: () => `/_sanyao/records/imports/${made.importId}`,
        status: 200,
        missing: "/_sanyao/records/imports/imp-000000000000",
      },
      gatewayStatus: { path: () => "/_sanyao/gateway", status: 200 },
      listUnknownCalls: { path: () => "/_sanyao/gateway/unknown?limit=5", status: 200 },
    };
  };

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
    );

  it("is well-formed OpenAPI 3.1 (the OpenAPI 3.1 schema), bearer auth, each operation named once", async () => {
    const { Validator } = await import("@seriousme/openapi-schema-validator");
    const result = await new Validator().validate(structuredClone(raw));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 3000));
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual((doc.components.securitySchemes as Json).operatorToken, {
      type: "http",
      scheme: "bearer",
      description: "The operator token (everything) or the read-only token (routes marked x-sanyao-access: read)",
    });
    const ids = operations().map((o) => o.operation.operationId);
    assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
  });

  it("documents exactly the routes the dispatcher serves, and every one has a call in this test", () => {
    const served = operationsTable(CONSOLE_ROUTES)
      .map((r) => `${r.spec.method} ${r.spec.path}`)
      .sort();
    const documented = operations()
      .map((o) => `${o.method} ${o.path}`)
      .sort();
    assert.deepEqual(documented, served);
    assert.deepEqual(
      operations()
        .map((o) => o.operation.operationId)
        .sort(),
      Object.keys(calls()).sort(),
      "a documented route without a call here (or a call of a route no longer documented)",
    );
  });

  it("every documented route answers a documented status and shape: with the token, without it, read-only", async () => {
    const byId = new Map(operations().map((o) => [o.operation.operationId, o]));
    for (const [id, call] of Object.entries(calls())) {
      const o = byId.get(id);
      assert.ok(o, `${id} is documented`);
      const { method, operation } = o;
      const access = operation["x-sanyao-access"];
      const path = call.path();
      const body = call.body?.();
      assert.equal(operation.security.length === 0, access === "anonymous", `${id}: security matches its access`);
      if (access !== "anonymous") {
        const anonymous = await send(method, path, undefined, body);
        assert.equal(anonymous.status, 401, `${id} without a token`);
        await conforms(anonymous, operation, `${id} without a token`);
        const wrong = await send(method, path, `${TOKEN}x`, body);
        assert.equal(wrong.status, 401, `${id} with a wrong token`);
      }
      if (access === "write") {
        const readOnly = await send(method, path, READ_TOKEN, body);
        assert.equal(readOnly.status, 403, `${id} with the read-only token`);
        await conforms(readOnly, operation, `${id} read-only`);
      }
      if (operation.parameters?.some((p) => p.in === "query")) {
        const unknown = await send(method, `${path}${path.includes("?") ? "&" : "?"}nosuchparameter=1`, TOKEN, body);
        assert.equal(unknown.status, 400, `${id} with an unknown query parameter`);
        await conforms(unknown, operation, `${id} unknown parameter`);
      }
      if (call.badBody !== undefined) {
        const bad = await send(method, path, TOKEN, call.badBody);
        assert.equal(bad.status, 400, `${id} with a bad body`);
        await conforms(bad, operation, `${id} bad body`);
        const notJson = await send(method, path, TOKEN, "{not json");
        assert.equal(notJson.status, 400, `${id} with a body that is not JSON`);
      }
      if (call.missing !== undefined) {
        const missing = await send(method, call.missing, TOKEN, body);
        assert.equal(missing.status, 404, `${id} of something missing`);
        await conforms(missing, operation, `${id} missing`);
      }
      if (call.csv) {
        const csv = await send(method, path, READ_TOKEN, undefined, "text/csv");
        assert.equal(csv.status, 200, `${id} as CSV`);
        assert.match(String(await conforms(csv, operation, `${id} as CSV`)), /^[a-zA-Z,]+\r?\n/);
      }
      const res = await send(method, path, access === "read" ? READ_TOKEN : TOKEN, body);
      assert.equal(res.status, call.status, `${id}: ${res.status} ${res.status === call.status ? "" : await res.clone().text()}`);
      const answer = await conforms(res, operation, id);
      if (typeof answer !== "string") call.keep?.(answer);
    }
  });

  it("what is not documented is not served: another method is 405 naming the ones there are, another path 404", async () => {
    for (const { path, method } of operations()) {
      const concrete = path.replace(/\{[^}]+\}/g, "x1234567890");
      const methods = Object.keys(doc.paths[path] ?? {}).map((m) => m.toUpperCase());
      for (const other of ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((m) => !methods.includes(m))) {
        const res = await send(other, concrete, TOKEN);
        assert.equal(res.status, 405, `${other} ${path} (documented: ${method})`);
        assert.deepEqual(res.headers.get("allow")?.split(", ").sort(), methods.sort());
      }
    }
    for (const path of ["/_sanyao/", "/_sanyao/nothing", "/_sanyao/accounts/1/nothing", "/_sanyao/openapi.yaml", "/nothing"]) {
      assert.equal((await send("GET", path, TOKEN)).status, 404, path);
    }
  });
});
