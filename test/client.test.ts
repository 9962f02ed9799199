/** The package's client (FaceIdClient, KmsClient) against a real server, and its signatures against the vectors. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { COMMON_PARAMS } from "../src/api3/params";
import { TcpProxy } from "./helpers/proxy";
import { within } from "./helpers/cli";
import {
  ClientNetworkError,
  encryptRequestFields,
  FaceIdClient,
  KmsClient,
  PHONE_VERIFICATION_RESULTS,
  TencentCloudError,
} from "../src/index";
import { signTc3, signV1 } from "../src/client/signer";
import { fixtures, startTestServer, type TestServer } from "./helpers/server";

const ZHANG = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

describe("the sanyao client", () => {
  let server: TestServer;
  let key: { accountId: string; secretId: string; secretKey: string };
  const client = (extra: Partial<ConstructorParameters<typeof FaceIdClient>[0]> = {}, k = key) =>
    new FaceIdClient({ credential: k, endpoint: `http://127.0.0.1:${server.port}`, ...extra });

  before(async () => {
    server = await startTestServer();
    key = await server.addAccount("client");
    await server.addRecords([
      { phone: ZHANG.Phone, name: ZHANG.Name, idcard: ZHANG.IdCard },
      { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" },
    ]);
  });
  after(() => server.close());

  it("every result code, typed, with its meaning and charge", async () => {
    const c = client();
    const cases: Array<[Record<string, string>, string]> = [
      [ZHANG, "0"],
      [{ ...ZHANG, Name: "李四" }, "-4"],
      [{ ...ZHANG, Phone: "1380000123" }, "-6"],
      [{ ...ZHANG, IdCard: "110105199003072140" }, "-7"],
      [{ ...ZHANG, Name: "张3" }, "-8"],
      [{ ...ZHANG, Phone: "13900009999" }, "-9"],
      [{ Phone: "13500009999", Name: "吴十", IdCard: "110108199502030043" }, "-11"],
      [{ ...ZHANG, Phone: "17000001234" }, "-13"],
    ];
    for (const [params, result] of cases) {
      const r = await c.phoneVerification(params as never);
      assert.equal(r.Result, result);
      assert.equal(r.Description, PHONE_VERIFICATION_RESULTS[r.Result].meaning);
      assert.match(r.RequestId, /^[0-9a-f-]{36}$/);
    }
    const capped = await server.addAccount("capped");
    await server.installation.store.accounts.update(capped.accountId, { dailyCap: 1 });
    const cc = client({}, capped);
    assert.equal((await cc.phoneVerification(ZHANG)).Result, "0");
    assert.equal((await cc.phoneVerification(ZHANG)).Result, "-12");
    assert.deepEqual(
      Object.entries(PHONE_VERIFICATION_RESULTS)
        .filter(([, r]) => r.charged)
        .map(([code]) => code)
        .sort(),
      ["-4", "0"],
    );
    c.close();
    cc.close();
  });

  it("errors are TencentCloudError with code, message, requestId and the echoed traceId", async () => {
    const c = client({}, { ...key, secretKey: "not-the-right-secret-key-0000000" });
    await assert.rejects(c.phoneVerification(ZHANG), (err: unknown) => {
      assert.ok(err instanceof TencentCloudError);
      assert.equal(err.code, "AuthFailure.SignatureFailure");
      assert.match(err.requestId, /^[0-9a-f-]{36}$/);
      assert.match(err.traceId, /^[0-9a-f-]{36}$/);
      assert.ok(err.message.length > 0);
      return true;
    });
  });

  it("v1 HmacSHA256 and HmacSHA1 on request; zh-CN", async () => {
    for (const signMethod of ["HmacSHA256", "HmacSHA1"] as const) {
      const r = await client({ signMethod, language: "zh-CN" }).phoneVerification({ ...ZHANG, VerifyMode: "1", Name: "李四" });
      assert.deepEqual([r.Result, r.ResultDetail, r.Isp], ["-4", "PhoneNameMismatch", "移动"]);
    }
  });

  it("retries stop after the limit: RequestLimitExceeded, -11 and network errors", async () => {
    const limited = await server.addAccount("limited");
    await server.installation.store.accounts.update(limited.accountId, { rateLimit: 1 });
    server.setNow(Math.floor(Date.now() / 1000) * 1000 + 100);
    const refusedBefore = server.logs.filter((l) => l.includes('"code":"RequestLimitExceeded"')).length;
    try {
      // the clock stands still: every attempt lands in the same second
      const c = client({ retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } }, limited);
      assert.equal((await c.phoneVerification(ZHANG)).Result, "0");
      await assert.rejects(
        c.phoneVerification(ZHANG),
        (err: unknown) => err instanceof TencentCloudError && err.code === "RequestLimitExceeded",
      );
      const refused = server.logs.filter((l) => l.includes('"code":"RequestLimitExceeded"')).length - refusedBefore;
      assert.equal(refused, 3, "three attempts, then the error");
    } finally {
      server.setNow(undefined);
    }

    const busyBefore = server.logs.filter((l) => l.includes('"code":"-11"')).length;
    const busy = await client({ retry: { attempts: 4, baseDelayMs: 5 } }).phoneVerification({
      Phone: "13500009999",
      Name: "吴十",
      IdCard: "110108199502030043",
    });
    assert.equal(busy.Result, "-11");
    assert.equal(server.logs.filter((l) => l.includes('"code":"-11"')).length - busyBefore, 4);

    const nowhere = new FaceIdClient({ credential: key, endpoint: "http://127.0.0.1:9", retry: { attempts: 2, baseDelayMs: 5 } });
    await assert.rejects(nowhere.phoneVerification(ZHANG), (err: unknown) => err instanceof ClientNetworkError && !err.maybeServed);
  });

  it("a network error after the request may have been served is not retried: it was charged once", async () => {
    const lossy = await server.addAccount("lossy-client");
    const proxy = new TcpProxy(server.port);
    await proxy.start();
    proxy.dropAnswers(1);
    try {
      const c = new FaceIdClient({ credential: lossy, endpoint: `http://127.0.0.1:${proxy.port}`, retry: { attempts: 3, baseDelayMs: 5 } });
      await assert.rejects(c.phoneVerification(ZHANG), (err: unknown) => err instanceof ClientNetworkError && err.maybeServed);
      c.close();
      const usage = await server.installation.store.ledger.usage({ accountId: lossy.accountId });
      assert.equal(
        usage.reduce((n, r) => n + r.charged, 0),
        1,
      );
    } finally {
      await proxy.stop();
    }
  });

  it("a retry after the window passes succeeds", async () => {
    const limited = await server.addAccount("limited-window");
    await server.installation.store.accounts.update(limited.accountId, { rateLimit: 1 });
    // In the past, so that returning to real time moves the server's clock forward, as clocks go.
    const second = (Math.floor(Date.now() / 1000) - 5) * 1000;
    server.setNow(second + 100);
    try {
      const c = client({ retry: { attempts: 20, baseDelayMs: 20, maxDelayMs: 20 } }, limited);
      assert.equal((await c.phoneVerification(ZHANG)).Result, "0");
      const refusedBefore = server.logs.filter((l) => l.includes('"code":"RequestLimitExceeded"')).length;
      const retried = c.phoneVerification(ZHANG);
      // once it has been refused, the server's clock moves on to the next second
      await within(30_000, async () => server.logs.filter((l) => l.includes('"code":"RequestLimitExceeded"')).length > refusedBefore);
      server.setNow(second + 1100);
      assert.equal((await retried).Result, "0");
    } finally {
      server.setNow(undefined);
    }
  });

  it("the pacer keeps a burst of 100 under the server's 20 per second: 20 in each second, no RequestLimitExceeded", async () => {
    const paced = await server.addAccount("paced");
    await server.installation.store.accounts.update(paced.accountId, { rateLimit: 20 });
    // The server's clock stands still and the test moves it on a second once that second's 20 are answered: the
    // pacer holds the 21st for a second of its own (real time), so it always arrives in the next window, wherever
    // the real seconds fall.
    let second = Math.floor(Date.now() / 1000) * 1000;
    server.setNow(second);
    const perSecond: number[] = [];
    let current = 0;
    const c = client({ pace: 20 }, paced);
    const started = Date.now();
    try {
      const results = Promise.allSettled(
        Array.from({ length: 100 }, () =>
          c.phoneVerification({ ...ZHANG, Phone: "13900009999" }).then((r) => {
            perSecond[current] = (perSecond[current] ?? 0) + 1;
            return r;
          }),
        ),
      );
      for (let i = 0; i < 5; i++) {
        await within(30_000, async () => (perSecond[i] ?? 0) >= 20);
        current++;
        second += 1000;
        server.setNow(second);
      }
      const refused = (await results).filter((r) => r.status === "rejected");
      assert.equal(refused.length, 0, JSON.stringify(refused.slice(0, 1)));
    } finally {
      server.setNow(undefined);
    }
    assert.deepEqual(perSecond, [20, 20, 20, 20, 20]);
    assert.ok(Date.now() - started >= 4000, "100 requests at 20/s take at least four seconds");
  });

  it("KmsClient and the field-encryption helper, end to end", async () => {
    await server.installation.store.accounts.update(key.accountId, { kmsAuthorized: true });
    const kms = new KmsClient({ credential: key, endpoint: `http://127.0.0.1:${server.port}`, region: "ap-guangzhou" });
    const { KeyId } = await kms.createKey({ Alias: "client-test" });
    assert.equal((await kms.describeKey({ KeyId })).KeyMetadata.KeyState, "Enabled");
    assert.equal((await kms.listKeys()).TotalCount, 1);
    const secret = Buffer.from("hello").toString("base64");
    const blob = (await kms.encrypt({ KeyId, Plaintext: secret })).CiphertextBlob;
    assert.equal((await kms.decrypt({ CiphertextBlob: blob })).Plaintext, secret);
    const request = encryptRequestFields(ZHANG, await kms.dataKey(KeyId), ["IdCard", "Name", "Phone"]);
    await new Promise((r) => setTimeout(r, 300)); // the account's KMS authorisation reaches the server
    assert.equal((await client().phoneVerification(request)).Result, "0");
    await kms.disableKey({ KeyId });
    await assert.rejects(
      kms.dataKey(KeyId),
      (err: unknown) => err instanceof TencentCloudError && err.code === "ResourceUnavailable.CmkDisabled",
    );
  });
});

describe("the client's signatures equal the official SDK's, byte for byte", () => {
  interface Vector {
    id: string;
    secretId: string;
    secretKey: string;
    serverTime: number;
    producedBy: { tool?: string; client?: string };
    tamperedFrom?: string;
    request: { method: string; target: string; headers: Array<[string, string]>; body: string | null };
    expected: { valid: boolean; route?: { requestClient?: string } };
  }
  const load = (file: string): Vector[] => JSON.parse(fs.readFileSync(path.join(fixtures, file), "utf8")).vectors;
  const header = (v: Vector, name: string) => v.request.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

  const tc3 = load("tc3.json").filter(
    (v) => !v.tamperedFrom && !v.producedBy.tool && v.request.method === "POST" && header(v, "Content-Type") === "application/json",
  );
  it(`${tc3.length} TC3 JSON POST vectors`, () => {
    assert.ok(tc3.length >= 8);
    for (const v of tc3) {
      const authorization = header(v, "Authorization")!;
      const scope = /Credential=[^/]+\/[^/]+\/([^/]+)\/tc3_request/.exec(authorization)![1]!;
      const signed = signTc3({
        secretId: v.secretId,
        secretKey: v.secretKey,
        service: scope,
        host: header(v, "Host")!,
        action: header(v, "X-TC-Action")!,
        version: header(v, "X-TC-Version")!,
        timestamp: Number(header(v, "X-TC-Timestamp")),
        body: v.request.body!,
      });
      assert.equal(signed.Authorization, authorization, v.id);
    }
  });

  const v1 = load("v1.json").filter((v) => !v.tamperedFrom);
  it(`${v1.length} v1 vectors (HmacSHA1 and HmacSHA256, GET and POST)`, () => {
    assert.equal(v1.length, 5);
    for (const v of v1) {
      const raw = v.request.method === "GET" ? v.request.target.split("?")[1]! : v.request.body!;
      const sent = new URLSearchParams(raw);
      const common = COMMON_PARAMS;
      const business = new Map([...sent].filter(([k]) => !common.has(k)));
      const form = signV1({
        method: v.request.method as "GET" | "POST",
        secretId: v.secretId,
        secretKey: v.secretKey,
        algorithm: sent.get("SignatureMethod") as "HmacSHA1" | "HmacSHA256",
        host: header(v, "Host")!,
        action: sent.get("Action")!,
        version: sent.get("Version")!,
        region: sent.get("Region") ?? undefined,
        language: (sent.get("Language") as "zh-CN" | "en-US" | null) ?? undefined,
        token: sent.get("Token") ?? undefined,
        requestClient: sent.get("RequestClient") ?? undefined,
        timestamp: Number(sent.get("Timestamp")),
        nonce: Number(sent.get("Nonce")),
        params: business,
      });
      assert.equal(form.get("Signature"), sent.get("Signature"), v.id);
    }
  });
});

describe("the client reads answers the way the official SDK does (sdk-responses.json)", () => {
  interface Case {
    id: string;
    serverResponse: { status: number; statusText: string; headers: Record<string, string>; body: string };
    resolvedWith: Record<string, unknown> | null;
    rejectedWith: { code: string; requestId: string; traceId: string; httpCode: number | string } | null;
  }
  const { cases } = JSON.parse(fs.readFileSync(path.join(fixtures, "sdk-responses.json"), "utf8")) as { cases: Case[] };

  for (const c of cases) {
    it(c.id, async () => {
      const http = await import("node:http");
      const stub = http.createServer((req, res) => {
        req.resume();
        req.on("end", () =>
          res.writeHead(c.serverResponse.status, c.serverResponse.statusText, c.serverResponse.headers).end(c.serverResponse.body),
        );
      });
      await new Promise<void>((r) => stub.listen(0, "127.0.0.1", () => r()));
      const port = (stub.address() as { port: number }).port;
      const kms = new KmsClient({
        credential: { secretId: "AKIDx", secretKey: "k".repeat(32) },
        endpoint: `http://127.0.0.1:${port}`,
        region: "ap-guangzhou",
      });
      try {
        const call = kms.generateDataKey({ KeyId: "k-1", KeySpec: "AES_256" });
        if (c.resolvedWith) assert.deepEqual(await call, c.resolvedWith);
        else if (c.rejectedWith && typeof c.rejectedWith.code === "string" && c.rejectedWith.code !== "(undefined)") {
          await assert.rejects(call, (err: unknown) => {
            assert.ok(err instanceof TencentCloudError);
            assert.deepEqual(
              [err.code, err.requestId, err.traceId],
              [c.rejectedWith!.code, c.rejectedWith!.requestId, c.rejectedWith!.traceId],
            );
            return true;
          });
        } else {
          // no API envelope: the SDK rejects without a code, and so do we
          await assert.rejects(call, (err: unknown) => err instanceof ClientNetworkError);
        }
      } finally {
        kms.close();
        stub.close();
      }
    });
  }
});
