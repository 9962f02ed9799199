/**
 * Signature diagnostics: each usual mistake made with a real call (the official SDK where it can make it, our own
 * signer where no SDK would), then `sanyao explain` and GET /_sanyao/explain/ID name it, with no value kept.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, it } from "node:test";
import { canonicalRequest, sha256Hex, signingKey, stringToSign, tc3Signature, utcDate } from "../src/api3/tc3";
import { describeBackends, rawRequest, type TestServer, startTestServer } from "./helpers/server";
import { faceidSdk } from "./helpers/sdk";

const TOKEN = "test-operator-token-0123456789";
const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

/** A reverse proxy in front of the server, doing what badly set-up proxies do: rewrite Host, re-serialise JSON. */
async function proxy(
  targetPort: number,
  change: { host?: string; reserialize?: boolean },
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (change.reserialize && body.length > 0) body = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
      const headers = { ...req.headers, "content-length": String(body.length), "x-forwarded-host": req.headers.host ?? "" };
      if (change.host) headers.host = change.host;
      const upstream = http.request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function refusedId(call: Promise<unknown>): Promise<{ code: string; requestId: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: string; requestId?: string };
    assert.ok(e.code?.startsWith("AuthFailure."), `refused with ${e.code}`);
    return { code: e.code!, requestId: e.requestId! };
  }
  assert.fail("the call was accepted");
}

describeBackends("signature diagnostics (explain)", (backend) => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    key = await server.addAccount("explain");
  });
  after(() => server.close());

  const explain = async (requestId: string) => {
    const res = await server.cli(["explain", requestId, "--endpoint", server.url, "--token", TOKEN, "--json"]);
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stdout, /13800001234|张三|110105199003072143/, "no value in a diagnosis");
    assert.doesNotMatch(res.stdout, new RegExp(key.secretKey), "never the secret key");
    return (JSON.parse(res.stdout) as { diagnosis: { likelyCauses: string[]; clock: { offsetSeconds: number }; code: string } }).diagnosis;
  };

  it("a SecretKey with a trailing space (SDK, TC3)", async () => {
    const sdk = faceidSdk(server.port, { secretId: key.secretId, secretKey: `${key.secretKey} ` });
    const { requestId, code } = await refusedId(sdk.PhoneVerification(ALICE));
    assert.equal(code, "AuthFailure.SignatureFailure");
    const d = await explain(requestId);
    assert.match(d.likelyCauses[0]!, /SecretKey plus a trailing space/);
    const text = await server.cli(["explain", requestId, "--endpoint", server.url, "--token", TOKEN]);
    assert.match(text.stdout, /Likely cause:\n {2}- The request was signed with the SecretKey plus a trailing space/);
    assert.match(text.stdout, /Canonical request \(values replaced by keyed hashes\):\nPOST\n\/\n\ncontent-type:application\/json/);
  });

  it("the endpoint signed with a port that a proxy dropped from Host (SDK, v1 HmacSHA256)", async () => {
    const front = await proxy(server.port, { host: "localhost" });
    try {
      const sdk = faceidSdk(front.port, key, { profile: { signMethod: "HmacSHA256" } });
      const { requestId } = await refusedId(sdk.PhoneVerification(ALICE));
      const d = await explain(requestId);
      assert.match(d.likelyCauses[0]!, new RegExp(`signed for host "localhost:${front.port}" \\(X-Forwarded-Host\\).*signed with a port`));
    } finally {
      await front.close();
    }
  });

  it("a clock 400 s off (server clock moved, SDK)", async () => {
    server.setNow(Date.now() + 400_000);
    try {
      const { requestId, code } = await refusedId(faceidSdk(server.port, key).PhoneVerification(ALICE));
      assert.equal(code, "AuthFailure.SignatureExpire");
      const d = await explain(requestId);
      assert.ok(Math.abs(d.clock.offsetSeconds + 400) <= 1, `offset ${d.clock.offsetSeconds}`);
      assert.match(d.likelyCauses[0]!, /timestamp is (399|400|401) s behind the server's clock; the window is ±300 s/);
    } finally {
      server.setNow(undefined);
    }
  });

  it("a body changed after signing: a proxy re-serialised the JSON (SDK, TC3)", async () => {
    const front = await proxy(server.port, { reserialize: true });
    try {
      const { requestId } = await refusedId(faceidSdk(front.port, key).PhoneVerification(ALICE));
      assert.match((await explain(requestId)).likelyCauses[0]!, /body was changed after signing.*re-serialised/);
    } finally {
      await front.close();
    }
  });

  /** A TC3 POST signed by hand, with one thing wrong. */
  async function handSigned(o: { scopeDate?: string; keyService?: string; signedHeaders?: string; secretId?: string }) {
    const body = JSON.stringify({ Mobile: ALICE.Phone });
    const ts = Math.floor(Date.now() / 1000);
    const date = o.scopeDate ?? utcDate(ts);
    const host = `127.0.0.1:${server.port}`;
    const names = (o.signedHeaders ?? "content-type;host").split(";");
    const values: Record<string, string> = { "content-type": "application/json", host: "127.0.0.1", "x-tc-missing": "x" };
    const canonical = canonicalRequest({
      method: "POST",
      path: "/",
      query: "",
      headers: names.map((n) => [n, values[n]!] as const),
      hashedPayload: sha256Hex(body),
    });
    const scope = `${date}/faceid/tc3_request`;
    const signature = tc3Signature(signingKey(key.secretKey, date, o.keyService ?? "faceid"), stringToSign(String(ts), scope, canonical));
    const res = await rawRequest(server.port, {
      method: "POST",
      target: "/",
      headers: {
        host,
        "content-type": "application/json",
        authorization: `TC3-HMAC-SHA256 Credential=${o.secretId ?? key.secretId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
        "x-tc-action": "MobileStatus",
        "x-tc-version": "2018-03-01",
        "x-tc-timestamp": String(ts),
        "x-tc-region": "ap-guangzhou",
      },
      body,
    });
    const response = (res.json as { Response: { Error?: { Code: string }; RequestId: string } }).Response;
    assert.ok(response.Error?.Code.startsWith("AuthFailure."), JSON.stringify(response));
    return response.RequestId;
  }

  it("a scope date that is not the timestamp's UTC date; a signing key of another service; a signed header not sent", async () => {
    const tomorrow = utcDate(Math.floor(Date.now() / 1000) + 86_400);
    assert.match(
      (await explain(await handSigned({ scopeDate: tomorrow }))).likelyCauses.join(" "),
      new RegExp(`scope's date is ${tomorrow}.*UTC date`),
    );
    assert.match(
      (await explain(await handSigned({ keyService: "kms" }))).likelyCauses[0]!,
      /derived with the service "kms".*scope says "faceid"/,
    );
    assert.match(
      (await explain(await handSigned({ signedHeaders: "content-type;host;x-tc-missing" }))).likelyCauses[0]!,
      /SignedHeaders names x-tc-missing, which the request does not carry/,
    );
    assert.match(
      (await explain(await handSigned({ secretId: "AKIDnosuchkey0000000" }))).likelyCauses[0]!,
      /No enabled key has the SecretId/,
    );
  });

  it("a call that was not refused has no diagnosis; GET /_sanyao/explain/ID wants the token", async () => {
    const ok = await rawRequest(server.port, { method: "GET", target: "/_sanyao/explain/nope", headers: { host: "x" } });
    assert.equal(ok.status, 401);
    const res = await fetch(`${server.url}/_sanyao/explain/no-such-request`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /only calls refused with AuthFailure/);
  });
});
