/**
 * Every signed request of test/fixtures/tc3.json and v1.json (produced by the official SDK, see
 * vectors README) replayed over HTTP with the vector's key and the server clock at the vector's serverTime.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, it } from "node:test";
import { fixtures, rawRequest, startTestServer, type TestServer, describeBackends } from "./helpers/server";

interface Vector {
  id: string;
  secretId: string;
  secretKey: string;
  serverTime: number;
  optionalFeature?: string | null;
  request: { method: string; target: string; headers: Array<[string, string]>; bodyBase64: string };
  expected: { valid: boolean; errorCode: string | null; route?: { action: string } };
}

const load = (file: string): Vector[] => JSON.parse(fs.readFileSync(path.join(fixtures, file), "utf8")).vectors;
const AUTH_CODES = /^(AuthFailure\.|MissingParameter$)/;

describeBackends("official SDK signature vectors", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, backend);
    const account = await server.installation.store.accounts.create("vectors", { rateLimit: 100, dailyCap: 0, balance: 100_000 });
    const [first] = load("tc3.json");
    await server.installation.store.apiKeys.create(account.accountId, { secretId: first!.secretId, secretKey: first!.secretKey });
  });
  after(() => server.close());

  for (const file of ["tc3.json", "v1.json"]) {
    for (const v of load(file)) {
      // We do not accept UNSIGNED-PAYLOAD (an unsigned body could be swapped in transit); the vectors README
      // says such a server expects SignatureFailure for these.
      const expectedValid = v.expected.valid && v.optionalFeature !== "unsigned-payload";
      it(`${v.id} → ${expectedValid ? "authenticates" : (v.expected.errorCode ?? "AuthFailure.SignatureFailure")}`, async () => {
        server.setNow(v.serverTime * 1000);
        const res = await rawRequest(server.port, {
          method: v.request.method,
          target: v.request.target,
          headers: v.request.headers,
          body: Buffer.from(v.request.bodyBase64, "base64"),
        });
        assert.equal(res.status, 200);
        const { Response } = res.json;
        assert.match(Response.RequestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        if (!expectedValid) {
          assert.equal(Response.Error?.Code, v.expected.errorCode ?? "AuthFailure.SignatureFailure");
          return;
        }
        // Authenticated: whatever follows is routing or business, never an authentication error.
        assert.doesNotMatch(Response.Error?.Code ?? "", AUTH_CODES, `unexpected ${Response.Error?.Code}`);
        const traceId = v.request.headers.find(([k]) => k.toLowerCase() === "x-tc-traceid")?.[1];
        assert.equal(res.headers["x-tc-traceid"], traceId);
      });
    }
  }
});
