/**
 * The request log's parameter names (operations API, `GET /_sanyao/requests`) are each call's own: a call whose one
 * parameter name is another call's names joined together does not change what the other call records.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { demoRecords } from "../src/app/demo";
import { chinaDate } from "../src/rules/precheck";
import { faceidSdk } from "./helpers/sdk";
import { startTestServer, type TestServer } from "./helpers/server";

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

it("records a signed call's names whatever other signed calls sent before it", async () => {
  const key = await server.addAccount("names");
  const sdk = faceidSdk(server.port, key);
  // the very names of the call below joined into one name (by NUL, by comma): refused UnknownParameter, names noted
  for (const joined of [["Phone", "Name", "IdCard"].join("\u0000"), ["Phone", "Name", "IdCard"].join(",")]) {
    await assert.rejects(sdk.PhoneVerification({ [joined]: "1" } as unknown as typeof ALICE));
  }
  await sdk.PhoneVerification(ALICE);
  assert.deepEqual(await lastParams(key.accountId), ["IdCard", "Name", "Phone"]);
});
