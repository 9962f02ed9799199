/** The test kit's routes: scenarios (in the store, shared by every instance), the request log and signature diagnoses. */
import { REQUEST_LOG_SIZE } from "../request-log";
import { shownScenario } from "../../testkit/scenario";
import { addScenario, listScenarios } from "../../testkit/scenario-store";
import type { OperationsContext } from "../context";
import { json, notFound, routesFor } from "../route";
import { array, boolean, either, integer, named, nullable, number, object, oneOf, optional, string } from "../schema";
import { formatAmount } from "../../common/money";
import { accountId, actionName, amount, isoTime, secretId } from "./shapes";

const route = routesFor<OperationsContext>();

const scenarioId = string({ pattern: /^[A-Za-z0-9_-]{1,64}$/, hint: "a scenario id, such as scn-0123456789ab" });
const requestId = string({ pattern: /^[A-Za-z0-9_-]{1,128}$/, hint: "a RequestId" });
const wholeText = (hint: string) => string({ pattern: /^-?\d{1,12}$/, hint });

const scenarioAnswer = named(
  "Scenario",
  object({
    id: string(),
    accountId: string(),
    secretId: optional(string()),
    action: optional(string()),
    phoneMasked: optional(string({ description: "the phone matched, masked (138****1234); it is kept as a keyed hash" })),
    idCardMasked: optional(string({ description: "the identity number matched, masked" })),
    effect: object(
      {
        kind: oneOf(["result", "error", "delay", "reset", "hang", "clock"]),
        result: optional(string()),
        code: optional(string()),
        minMs: optional(integer()),
        maxMs: optional(integer()),
        offsetMs: optional(integer()),
      },
      { description: "what it does to the calls it takes" },
    ),
    probability: number(),
    times: optional(integer()),
    seed: optional(integer()),
    remaining: nullable(integer({ minimum: 0, description: "uses left; null when not limited" })),
    createdAt: isoTime,
    until: optional(isoTime),
  }),
);

const scenarioInput = object(
  {
    account: accountId,
    secretId: optional(secretId),
    action: optional(actionName),
    phone: optional(
      string({ maxLength: 32, description: "only calls about this mobile number (sent in plaintext); kept as a keyed hash" }),
    ),
    idCard: optional(
      string({ maxLength: 32, description: "only calls about this identity number (sent in plaintext); kept as a keyed hash" }),
    ),
    result: optional(
      either(string({ maxLength: 16 }), integer(), { description: "answer this Result of the action's table (needs action)" }),
    ),
    error: optional(string({ maxLength: 128, description: "answer this API error, such as InternalError" })),
    delayMs: optional(
      either(integer({ minimum: 0 }), string({ pattern: /^\d+(-\d+)?$/, hint: "N or N-M milliseconds" }), {
        description: 'answer normally after N ms, or after N to M ms ("100-400")',
      }),
    ),
    reset: optional(boolean({ description: "reset the connection" })),
    hang: optional(boolean({ description: "never answer" })),
    clockOffsetS: optional(either(integer(), wholeText("whole seconds"), { description: "move the matching calls' clock N seconds" })),
    times: optional(
      either(integer({ minimum: 1, maximum: 1_000_000 }), wholeText("a whole number"), { description: "the next N matching calls only" }),
    ),
    probability: optional(either(number(), string({ pattern: /^[0-9.]{1,20}$/, hint: "a number" }), { description: "0 < p ≤ 1" })),
    until: optional(string({ maxLength: 64, description: "until this time (server clock), such as 2026-12-02T12:00:00Z" })),
    seed: optional(either(integer({ minimum: 0, maximum: 0xffffffff }), wholeText("a whole number"))),
  },
  { description: "Exactly one of result, error, delayMs, reset, hang, clockOffsetS." },
);

const loggedCall = named(
  "LoggedCall",
  object({
    at: isoTime,
    requestId: string(),
    accountId: optional(string()),
    secretId: optional(string()),
    test: optional(boolean()),
    action: optional(string()),
    params: array(string(), { description: "the parameter names sent (never a value)" }),
    verifyMode: optional(string()),
    encrypted: optional(array(string(), { description: "the fields sent encrypted" })),
    signatureMethod: optional(string()),
    result: optional(string({ description: "the answer's Result" })),
    error: optional(string({ description: "the API error code (or reset, hang)" })),
    billable: boolean(),
    scenario: optional(string({ description: "the scenario that took the call" })),
    latencyMs: number(),
    seq: integer({ minimum: 1, description: "this process's count of calls logged, this one included" }),
  }),
);

const diagnosis = named(
  "SignatureDiagnosis",
  object({
    requestId: string(),
    code: string(),
    signatureMethod: string(),
    secretId: optional(string()),
    clock: object({
      serverTime: isoTime,
      requestTimestamp: optional(integer()),
      offsetSeconds: optional(integer()),
      windowSeconds: integer(),
    }),
    expectedScope: optional(string()),
    receivedScope: optional(string()),
    signedHeaders: optional(array(string())),
    hostsTried: array(string()),
    canonicalRequest: optional(string({ description: "every value replaced by a keyed hash" })),
    stringToSign: optional(string({ description: "every value replaced by a keyed hash" })),
    likelyCauses: array(string(), { description: "most likely first; never empty" }),
  }),
);

const removed = object({ removed: integer({ minimum: 0 }) });

/** The answers, for clients that narrow what they get by the same schemas (the CLI). */
export const testKitAnswers = {
  scenarios: object({ scenarios: array(scenarioAnswer) }),
  scenario: object({ scenario: scenarioAnswer }),
  removed,
  requests: object({
    requests: array(loggedCall),
    lastSeq: integer({ minimum: 0, description: "the newest call's seq: ask again with after=lastSeq for newer ones only" }),
  }),
  diagnosis: object({ diagnosis }),
};

export const testKitRoutes = [
  route({
    id: "listScenarios",
    method: "GET",
    path: "/_sanyao/scenarios",
    group: "test kit",
    summary: "The scenarios, oldest first, with the uses each has left",
    access: "read",
    query: object({ account: optional(accountId) }),
    answers: { 200: { description: "the scenarios", schema: testKitAnswers.scenarios } },
    handle: async ({ query }, ctx) =>
      json(200, { scenarios: (await listScenarios(ctx.store.scenarios, query.account)).map(shownScenario) }),
  }),
  route({
    id: "addScenario",
    method: "POST",
    path: "/_sanyao/scenarios",
    group: "test kit",
    summary: "Add a scenario: matching calls answer a Result, an error, late, or not at all",
    description: "A running server (every instance) sees it at once; other instances within a second.",
    access: "write",
    body: scenarioInput,
    answers: { 201: { description: "added", schema: testKitAnswers.scenario } },
    handle: async ({ body }, ctx) => {
      const scenario = await addScenario({ rows: ctx.store.scenarios, accounts: ctx.store.accounts, keyring: ctx.keyring }, body);
      await ctx.scenarios.refresh();
      return json(201, { scenario: shownScenario(scenario) });
    },
  }),
  route({
    id: "clearScenarios",
    method: "DELETE",
    path: "/_sanyao/scenarios",
    group: "test kit",
    summary: "Remove every scenario (of one account, with account)",
    access: "write",
    query: object({ account: optional(accountId) }),
    answers: { 200: { description: "how many were removed", schema: removed } },
    handle: async ({ query }, ctx) => {
      const count = await ctx.store.scenarios.clear(query.account);
      await ctx.scenarios.refresh();
      return json(200, { removed: count });
    },
  }),
  route({
    id: "removeScenario",
    method: "DELETE",
    path: "/_sanyao/scenarios/{id}",
    group: "test kit",
    summary: "Remove one scenario",
    access: "write",
    params: object({ id: scenarioId }),
    answers: { 200: { description: "removed", schema: removed } },
    errors: { 404: "no such scenario" },
    handle: async ({ params }, ctx) => {
      if (!(await ctx.store.scenarios.remove(params.id))) throw notFound(`No scenario ${params.id}.`);
      await ctx.scenarios.refresh();
      return json(200, { removed: 1 });
    },
  }),
  route({
    id: "listRequests",
    method: "GET",
    path: "/_sanyao/requests",
    group: "test kit",
    summary: "The last calls this process answered, oldest first: names and outcomes, never a value",
    description: `Each process keeps its last ${REQUEST_LOG_SIZE}, while the operations API is on.`,
    access: "read",
    query: object({
      limit: optional(integer({ minimum: 1, maximum: REQUEST_LOG_SIZE, description: "how many (default 100)" })),
      account: optional(accountId),
      secretId: optional(secretId),
      action: optional(actionName),
      result: optional(
        string({ pattern: /^[A-Za-z0-9._-]{1,64}$/, hint: "a Result or an error code", description: "the Result or the error code" }),
      ),
      after: optional(integer({ minimum: 0, description: "only calls with a greater seq (the console polls with the last lastSeq)" })),
    }),
    answers: { 200: { description: "the calls", schema: testKitAnswers.requests } },
    handle: async ({ query }, ctx) => {
      // lastSeq first: a call logged while the list is made comes in the next poll, never in none
      const lastSeq = ctx.requests.lastSeq;
      const filter = { accountId: query.account, secretId: query.secretId, action: query.action, result: query.result, after: query.after };
      return json(200, { requests: ctx.requests.last(query.limit ?? 100, filter), lastSeq });
    },
  }),
  route({
    id: "getRequest",
    method: "GET",
    path: "/_sanyao/requests/{requestId}",
    group: "test kit",
    summary: "One call of the request log: what was sent (names, never values), the answer, its charge and, when refused, the diagnosis",
    access: "read",
    params: object({ requestId }),
    answers: {
      200: {
        description: "the call",
        schema: object({
          request: loggedCall,
          charge: nullable(object({ amount }, { description: "what the ledger holds for it (the test ledger for a test key)" })),
          diagnosis: nullable(diagnosis),
        }),
      },
    },
    errors: { 404: `not in the request log (it keeps this process's last ${REQUEST_LOG_SIZE} calls)` },
    handle: async ({ params }, ctx) => {
      const request = ctx.requests.find(params.requestId);
      if (!request) throw notFound(`No call ${params.requestId} in the request log: it keeps this process's last ${REQUEST_LOG_SIZE}.`);
      const [fen, diagnosis] = await Promise.all([ctx.store.ledger.chargeOf(params.requestId), ctx.diagnoses.get(params.requestId)]);
      return json(200, { request, charge: fen === undefined ? null : { amount: formatAmount(fen) }, diagnosis: diagnosis ?? null });
    },
  }),
  route({
    id: "clearRequests",
    method: "DELETE",
    path: "/_sanyao/requests",
    group: "test kit",
    summary: "Forget the request log (between tests)",
    access: "write",
    answers: { 200: { description: "forgotten", schema: object({ cleared: boolean() }) } },
    handle: async (_input, ctx) => {
      ctx.requests.clear();
      return json(200, { cleared: true });
    },
  }),
  route({
    id: "explain",
    method: "GET",
    path: "/_sanyao/explain/{requestId}",
    group: "test kit",
    summary: "Why a call's signature was refused: what the server computed and the likely cause",
    access: "read",
    params: object({ requestId }),
    answers: { 200: { description: "the diagnosis", schema: testKitAnswers.diagnosis } },
    errors: { 404: "no diagnosis: only calls refused with AuthFailure.* have one, the last 1000 of them" },
    handle: async ({ params }, ctx) => {
      const found = await ctx.diagnoses.get(params.requestId);
      if (!found) {
        throw notFound(`No diagnosis for ${params.requestId}: only calls refused with AuthFailure.* have one, the last 1000 of them.`);
      }
      return json(200, { diagnosis: found });
    },
  }),
];
