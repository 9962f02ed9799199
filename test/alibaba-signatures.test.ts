/** Alibaba's two signatures against the known answers and raw requests of its official SDKs (fixtures/alibaba-vectors.json). */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { it } from "node:test";
import { authenticateAcs3, authenticateRpc, isAcsCall } from "../src/aliyun/authenticate";
import type { GatewayError } from "../src/aliyun/errors";
import { NonceWindow } from "../src/aliyun/nonces";
import { acs3CanonicalRequest, acs3Signature, acs3StringToSign, rpcSignature, rpcStringToSign, sha256Hex } from "../src/aliyun/signatures";
import { fixtures } from "./helpers/server";

interface Capture {
  name: string;
  at: string;
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body: string;
}
const V = JSON.parse(fs.readFileSync(path.join(fixtures, "alibaba-vectors.json"), "utf8")) as {
  accessKeyId: string;
  accessKeySecret: string;
  kat: {
    fields: Record<string, string>;
    v2: { params: Record<string, string>; stringToSign: string; signature: string };
    v3Body: { body: string; headers: Record<string, string>; canonicalRequestSha256: string; signature: string };
    v3Query: { query: string; headers: Record<string, string>; canonicalRequestSha256: string; signature: string };
  };
  captures: Capture[];
};
const SK = V.accessKeySecret;

it("KAT-1: RPC HMAC-SHA1 string to sign and signature", () => {
  const params = new Map(Object.entries({ ...V.kat.v2.params, ...V.kat.fields }));
  const toSign = rpcStringToSign("POST", params);
  assert.equal(toSign, V.kat.v2.stringToSign);
  assert.equal(rpcSignature(toSign, SK), V.kat.v2.signature);
  // Signature itself is never part of what is signed
  params.set("Signature", "anything");
  assert.equal(rpcStringToSign("POST", params), V.kat.v2.stringToSign);
});

for (const [label, kat, query] of [
  ["KAT-2: ACS3 with a form body", V.kat.v3Body, [] as Array<[string, string]>],
  ["KAT-3: ACS3 with the fields in the query", V.kat.v3Query, Object.entries(V.kat.fields)],
] as const) {
  it(label, () => {
    const signedHeaders = Object.keys(kat.headers).sort();
    const canonical = acs3CanonicalRequest({
      method: "POST",
      query,
      signedHeaders,
      header: (n) => kat.headers[n],
      hashedPayload: kat.headers["x-acs-content-sha256"] ?? "",
    });
    assert.equal(sha256Hex(canonical), kat.canonicalRequestSha256);
    assert.equal(acs3Signature(acs3StringToSign(canonical), SK), kat.signature);
  });
}

it("KAT-2's body hashes to its x-acs-content-sha256", () => {
  assert.equal(sha256Hex(V.kat.v3Body.body), V.kat.v3Body.headers["x-acs-content-sha256"]);
});

const keys = async (id: string) => (id === V.accessKeyId ? { secretId: id, secretKey: SK, accountId: "acct" } : undefined);

function headOf(c: Capture) {
  const headers: Record<string, string> = {};
  for (const [k, v] of c.headers) headers[k.toLowerCase()] = v;
  const q = c.target.indexOf("?");
  return { method: c.method, path: "/", rawQuery: q === -1 ? "" : c.target.slice(q + 1), headers };
}

for (const capture of V.captures) {
  it(`captured request verifies: ${capture.name}`, async () => {
    const head = headOf(capture);
    assert.ok(isAcsCall(head));
    const now = Date.parse(capture.at) / 1000;
    const authenticate = head.headers.authorization ? authenticateAcs3 : authenticateRpc;
    const auth = await authenticate(head, async () => Buffer.from(capture.body), now, { keys });
    assert.equal(auth.credential.accountId, "acct");
    assert.equal(auth.action, head.headers["x-acs-action"]);
    assert.equal(auth.version, "2019-03-07");
    if (capture.body) assert.equal(auth.params.get("UserName"), "张三 (test)");
    assert.equal(auth.params.has("Signature"), false);
    assert.equal(auth.params.has("AccessKeyId"), false);

    // One byte of the body changed: refused, and a V2 refusal echoes the string to sign with its values masked
    if (capture.body) {
      const tampered = Buffer.from(capture.body.replace("13800000000", "13800000001"));
      await assert.rejects(
        authenticate(head, async () => tampered, now, { keys }),
        (err: GatewayError) => {
          assert.equal(err.code, "SignatureDoesNotMatch");
          assert.equal(err.status, 400);
          assert.doesNotMatch(err.text, /1380000000|%E5%BC%A0|张/);
          return true;
        },
      );
    }
    // 15 minutes and a second away: expired; a second inside: accepted
    await assert.rejects(
      authenticate(head, async () => Buffer.from(capture.body), now + 901, { keys }),
      { code: "InvalidTimeStamp.Expired" },
    );
    await authenticate(head, async () => Buffer.from(capture.body), now - 900, { keys });
    await assert.rejects(
      authenticate(head, async () => Buffer.from(capture.body), now, { keys: async () => undefined }),
      {
        code: "InvalidAccessKeyId.NotFound",
      },
    );
  });
}

it("a V3 call that does not sign its date or nonce is incomplete", async () => {
  const capture = V.captures[0]!;
  const head = headOf(capture);
  head.headers.authorization = (head.headers.authorization ?? "").replace("x-acs-date;", "");
  await assert.rejects(
    authenticateAcs3(head, async () => Buffer.from(capture.body), Date.parse(capture.at) / 1000, { keys }),
    {
      code: "IncompleteSignature",
    },
  );
});

it("the nonce window: once per AccessKeyId while its request's timestamp is accepted (until timestamp + 15 min + 1 s)", async () => {
  const nonces = new NonceWindow();
  assert.equal(await nonces.use("a", "n1", 0, 0), "fresh");
  assert.equal(await nonces.use("a", "n1", 14 * 60_000, 0), "replayed");
  assert.equal(await nonces.use("b", "n1", 14 * 60_000, 0), "fresh");
  // The server's second 900 after the timestamp still accepts it (authenticate.ts): so the nonce is kept through it.
  assert.equal(await nonces.use("a", "n1", 901_000 - 1, 0), "replayed");
  assert.equal(await nonces.use("a", "n1", 901_000, 0), "fresh");
  // Signed by a clock 14 minutes ahead: kept 29 minutes and a second on the server's clock.
  assert.equal(await nonces.use("c", "n1", 0, 14 * 60_000), "fresh");
  assert.equal(await nonces.use("c", "n1", 29 * 60_000, 14 * 60_000), "replayed");
  assert.equal(await nonces.use("c", "n1", 29 * 60_000 + 1000, 14 * 60_000), "fresh");
});
