/**
 * The request log's parameter names (operations API, `GET /_sanyao/requests`) are each call's own: an unsigned call
 * whose one parameter name is another call's names joined together does not change what the other call records, and
 * a flood of unsigned calls with thousands of distinct names leaves the names of signed calls as they are.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";
import { faceidSdk } from "./helpers/sdk";
import { rawRequest, startTestServer, type TestServer } from "./helpers/server";

const TOKEN = "request-log-names-token-0001";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

let server: TestServer;
before(async () => {
  server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN });
  await server.addRecords(demoRecords(chinaDate(Date.now())));
});
after(() => server.close());

async function lastParams(accountId: string): Promise<unknown> {
  const res = await fetch(`${server.url}/_sanyao/requests?account=${accountId}&limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const { requests } = (await res.json()) as { requests: Array<{ params: unknown }> };
  return requests[0]?.params;
}

/** An unsigned v1 form POST (refused before its signature is checked, its names noted all the same). */
function unsigned(form: string) {
  return rawRequest(server.port, {
    method: "POST",
    target: "/",
    headers: { Host: `127.0.0.1:${server.port}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
  });
}

it("records a signed call's names whatever unsigned calls sent before it", async () => {
  const key = await server.addAccount("names");
  const sdk = faceidSdk(server.port, key);
  // the very names of the call below, joined by NUL into one name; then many distinct long lists
  await unsigned(`${encodeURIComponent(["Phone", "Name", "IdCard"].join("\u0000"))}=1`);
  await unsigned(`${encodeURIComponent(["Phone", "Name", "IdCard"].join(","))}=1`);
  for (let i = 0; i < 50; i++) await unsigned(Array.from({ length: 200 }, (_, j) => `N${i}x${j}=1`).join("&"));
  await sdk.PhoneVerification(ALICE);
  assert.deepEqual(await lastParams(key.accountId), ["IdCard", "Name", "Phone"]);
});
