/**
 * What a refused signature costs and shows: a key cache that keeps unknown SecretIds keeps nothing else of their
 * calls, a body past the size a diagnosis signs again is noted rather than hashed, past a rate refused calls are
 * noted rather than diagnosed, and a diagnosis shows no session Token. (The flood of 5,000 is diagnosis-flood.test.ts.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { signTc3 } from "../src/client/signer";
import { canonicalRequest, sha256Hex, signingKey, stringToSign, tc3Signature, utcDate } from "../src/api3/tc3";
import { callTc3 } from "./helpers/call";
import { serveProcess, type ServeProcess } from "./helpers/cli";
import { flood, formFiller, jsonBody, refusedV1 } from "./helpers/refused";
import { faceidSdk } from "./helpers/sdk";
import { rawRequest, startTestServer, tempDir, type TestServer } from "./helpers/server";

const TOKEN = "test-operator-token-0123456789";
const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };
const KiB = 1024;
const MiB = 1024 * KiB;
const LIMIT_MiB = 64;

describe("v1 calls with unknown SecretIds", () => {
  let served: ServeProcess;
  before(async () => {
    served = await serveProcess(["--data", tempDir()], { SANYAO_ADMIN_TOKEN: TOKEN });
  });
  after(() => served.stop());

  it("300 v1 calls with 1 MiB forms and unknown SecretIds grow the server's memory by < 64 MiB", async () => {
    // Each SecretId is new: the key cache keeps every one it looks up, and must keep nothing else of the call.
    // Two at a time, so that what the calls in flight take is far from the bound.
    const filler = formFiller(MiB - 1024);
    const f = await flood(served, { total: 300, concurrency: 2, limitMiB: LIMIT_MiB }, (i) =>
      refusedV1(served.port, `AKIDunknown${String(i).padStart(8, "0")}`, filler),
    );
    process.stdout.write(
      `# ${f.sent} v1 calls with unknown SecretIds (${JSON.stringify(f.codes)}): server RSS ${f.baseline.toFixed(0)} MiB before, ` +
        `+${f.growth.toFixed(0)} MiB at its peak, ${f.cpu.toFixed(1)} s of CPU\n`,
    );
    assert.equal(f.grewPast, undefined, `resident memory grew by ${LIMIT_MiB} MiB ${f.grewPast}`);
    assert.ok(f.growth < LIMIT_MiB, `peak memory grew by ${f.growth.toFixed(0)} MiB`);
    assert.deepEqual(f.codes, { "AuthFailure.SecretIdNotFound": 300 });
  });
});

describe("what a diagnosis shows and costs", () => {
  let server: TestServer;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN });
    key = await server.addAccount("bounds");
  });
  after(() => server.close());

  const explain = async (requestId: string) => {
    const res = await fetch(`${server.url}/_sanyao/explain/${requestId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.doesNotMatch(text, new RegExp(key.secretKey), "never the secret key");
    return {
      text,
      diagnosis: (JSON.parse(text) as { diagnosis: { likelyCauses: string[]; canonicalRequest?: string; stringToSign?: string } })
        .diagnosis,
    };
  };

  /** A TC3 call with a JSON body of `bytes`, signed with the SecretKey plus a trailing space. */
  async function trailingSpace(bytes: number): Promise<string> {
    const body = jsonBody(bytes).toString();
    const headers = signTc3({
      secretId: key.secretId,
      secretKey: `${key.secretKey} `,
      service: "faceid",
      host: `127.0.0.1:${server.port}`,
      action: "PhoneVerification",
      version: "2018-03-01",
      timestamp: Math.floor(Date.now() / 1000),
      body,
    });
    const res = await rawRequest(server.port, { method: "POST", target: "/", headers, body });
    assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
    return res.json.Response.RequestId;
  }

  it("a body up to 64 KiB is signed again with each usual mistake; past it, the diagnosis says so and tries none", async () => {
    const within = await explain(await trailingSpace(64 * KiB));
    assert.match(within.diagnosis.likelyCauses[0] ?? "", /SecretKey plus a trailing space/);
    const past = await explain(await trailingSpace(64 * KiB + 1));
    assert.match(past.diagnosis.likelyCauses.join(" "), /The body is 65537 bytes, more than the 65536 bytes a diagnosis signs again/);
    assert.doesNotMatch(past.text, /trailing space/);
  });

  it("a v1 call whose parameters pass 64 KiB: noted, not signed again", async () => {
    const res = await refusedV1(server.port, key.secretId, formFiller(100 * KiB));
    assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
    const { diagnosis } = await explain(res.json.Response.RequestId);
    assert.match(
      diagnosis.likelyCauses.join(" "),
      /The parameters are \d+ characters long, more than the 65536 characters a diagnosis signs again/,
    );
    assert.equal(diagnosis.stringToSign, undefined);
  });

  it("a v1 diagnosis masks the session Token like any value", async () => {
    const token = "sts-session-token-4f1c9a7e2b";
    const credential = { secretId: key.secretId, secretKey: "not-the-key", token };
    const sdk = faceidSdk(server.port, credential, { profile: { signMethod: "HmacSHA256" } });
    const requestId = await sdk.PhoneVerification(ZHANG).then(
      () => assert.fail("the call was accepted"),
      (err: { code?: string; requestId?: string }) => {
        assert.equal(err.code, "AuthFailure.SignatureFailure");
        return err.requestId ?? "";
      },
    );
    const { text, diagnosis } = await explain(requestId);
    assert.match(diagnosis.stringToSign ?? "", /&Token=<[0-9a-f]{16}>&/);
    assert.ok(!text.includes(token), `the diagnosis shows the Token: ${diagnosis.stringToSign}`);
  });

  it("a TC3 diagnosis masks X-TC-Token when the call signs it", async () => {
    const token = "sts-session-token-9d3e5b1c7a";
    const body = JSON.stringify({ Mobile: ZHANG.Phone });
    const ts = Math.floor(Date.now() / 1000);
    const date = utcDate(ts);
    const signed: Array<readonly [string, string]> = [
      ["content-type", "application/json"],
      ["host", "127.0.0.1"],
      ["x-tc-token", token],
    ];
    const canonical = canonicalRequest({ method: "POST", path: "/", query: "", headers: signed, hashedPayload: sha256Hex(body) });
    const scope = `${date}/faceid/tc3_request`;
    const signature = tc3Signature(signingKey("not-the-key", date, "faceid"), stringToSign(String(ts), scope, canonical));
    const res = await rawRequest(server.port, {
      method: "POST",
      target: "/",
      headers: {
        host: `127.0.0.1:${server.port}`,
        "content-type": "application/json",
        "x-tc-token": token,
        "x-tc-action": "MobileStatus",
        "x-tc-version": "2018-03-01",
        "x-tc-timestamp": String(ts),
        authorization: `TC3-HMAC-SHA256 Credential=${key.secretId}/${scope}, SignedHeaders=content-type;host;x-tc-token, Signature=${signature}`,
      },
      body,
    });
    assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
    const { text, diagnosis } = await explain(res.json.Response.RequestId);
    assert.match(diagnosis.canonicalRequest ?? "", /\nx-tc-token:<[0-9a-f]{16}>\n/);
    assert.ok(!text.includes(token), `the diagnosis shows the token: ${diagnosis.canonicalRequest}`);
  });
});

describe("how many refused calls are diagnosed", () => {
  let server: TestServer;
  let key: { secretId: string; secretKey: string };
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN });
    key = await server.addAccount("rate");
  });
  after(() => server.close());

  it("a burst of 20 is diagnosed; past 10 a second, a refused call is noted as not diagnosed", async () => {
    // 100 calls at once: however slowly this machine sends them, they arrive well within the 8 s it takes to refill 80.
    const wrongKey = { secretId: key.secretId, secretKey: `${key.secretKey} ` };
    const refused = await Promise.all(Array.from({ length: 100 }, () => callTc3(server.port, wrongKey, ZHANG)));
    const causes = await Promise.all(
      refused.map(async (res) => {
        assert.equal(res.json.Response.Error?.Code, "AuthFailure.SignatureFailure");
        const answer = await fetch(`${server.url}/_sanyao/explain/${res.json.Response.RequestId}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        return ((await answer.json()) as { diagnosis: { likelyCauses: string[] } }).diagnosis.likelyCauses[0] ?? "";
      }),
    );
    const diagnosed = causes.filter((c) => /SecretKey plus a trailing space/.test(c)).length;
    const noted = causes.filter((c) => /^Not diagnosed: more than 10 calls a second \(a burst of 20\) were refused/.test(c)).length;
    process.stdout.write(`# of 100 refused calls at once: ${diagnosed} diagnosed, ${noted} noted\n`);
    assert.equal(diagnosed + noted, 100);
    assert.ok(diagnosed >= 20, `${diagnosed} diagnosed`);
    assert.ok(noted >= 1, `${noted} noted`);
  });
});
