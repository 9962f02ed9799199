/**
 * Review of issue 23 (Alibaba's protocol and Cloudauth): failing tests that prove each finding through real HTTP
 * against a started server. Each test states what it expects of a sound server; it fails on main as reviewed.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { NONCES_PER_KEY, type Nonces, NonceWindow, SharedNonceWindow } from "../src/aliyun/nonces";
import { RedisLimits } from "../src/limits/redis";
import { MemorySeenOnce, SEEN_IN_PROCESS, SHARED_FROM } from "../src/limits/seen-once";
import { acs3CanonicalRequest, acs3Signature, acs3StringToSign, sha256Hex } from "../src/aliyun/signatures";
import { type AlibabaKey, bodyOf, cloudauth, fieldsOf, isoSeconds, md5, v2Post } from "./helpers/alibaba";
import { REDIS_URL } from "./helpers/services";
import { describeBackends, rawRequest, startTestServer, type TestServer } from "./helpers/server";

const TOKEN = "review23-operator-token-0123456789";
const ZHANG = { phone: "13800001234", name: "张三", idcard: "110105199003072143" };
const ZHANG_PARAMS = { ParamType: "normal", Mobile: ZHANG.phone, IdentifyNum: ZHANG.idcard, UserName: ZHANG.name };
const ZHANG_MD5 = { ParamType: "md5", Mobile: md5(ZHANG.phone), IdentifyNum: md5(ZHANG.idcard), UserName: md5(ZHANG.name) };

type Key = AlibabaKey & { accountId: string };

/** A V3 (ACS3-HMAC-SHA256) GET with its parameters in the query, signed as openapi-core signs. */
function v3Get(port: number, key: Key, action: string, query: ReadonlyArray<readonly [string, string]>) {
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    "x-acs-action": action,
    "x-acs-version": "2019-03-07",
    "x-acs-date": isoSeconds(Date.now()),
    "x-acs-signature-nonce": randomUUID(),
    "x-acs-content-sha256": sha256Hex(""),
  };
  const signedHeaders = Object.keys(headers).sort();
  const canonical = acs3CanonicalRequest({
    method: "GET",
    query,
    signedHeaders,
    header: (name) => headers[name],
    hashedPayload: sha256Hex(""),
  });
  const signature = acs3Signature(acs3StringToSign(canonical), key.secretKey);
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${key.secretId},SignedHeaders=${signedHeaders.join(";")},Signature=${signature}`;
  return rawRequest(port, { method: "GET", target: `/?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, v]))}`, headers });
}

/** Redis's keys expire in real time, not on the server's moved clock: take 16 minutes off each of the installation's. */
async function sixteenMinutesPassInRedis(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for (const k of await redis.keys(`${prefix}*`)) {
      const left = await redis.pttl(k);
      if (left > 16 * 60_000) await redis.pexpire(k, left - 16 * 60_000);
      else if (left >= 0) await redis.del(k);
    }
  } finally {
    redis.disconnect();
  }
}

describeBackends("a nonce is forgotten while its timestamp is still accepted", (backend) => {
  let server: TestServer;
  let key: Key;
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("replay");
    await server.addRecords([ZHANG]);
  });
  after(() => server.close());

  it("a billed call replayed 16 minutes after it was first served is refused SignatureNonceUsed, and charged once", async () => {
    const signedAt = Date.now();
    const nonce = randomUUID();
    const fields = Object.entries(ZHANG_PARAMS);
    try {
      // The client's clock is 14 minutes ahead of the server's: inside the ±15 min window.
      server.setNow(signedAt - 14 * 60_000);
      const first = await v2Post(server.port, key, "Mobile3MetaSimpleVerify", fields, { timestampMs: signedAt, nonce });
      assert.equal(bodyOf(first).Code, "200");
      if (backend === "scale-out") await sixteenMinutesPassInRedis(server.env.SANYAO_REDIS_PREFIX ?? "");
      // 16 minutes later on the server: the request's timestamp is 2 minutes old, still inside the window.
      server.setNow(signedAt + 2 * 60_000);
      const replay = await v2Post(server.port, key, "Mobile3MetaSimpleVerify", fields, { timestampMs: signedAt, nonce });
      const usage = await server.installation.store.ledger.usage({ accountId: key.accountId });
      const charged = usage.reduce((n, r) => n + r.charged, 0);
      assert.equal(replay.status, 400, `the replay was answered ${replay.status} ${replay.text}; charged ${charged} times`);
      assert.equal(bodyOf(replay).Code, "SignatureNonceUsed");
      assert.equal(charged, 1);
    } finally {
      server.setNow(undefined);
    }
  });

  it("a signed call to no action (unbilled, unthrottled) takes no room in the nonce store", async () => {
    // Shows what fills the store for free: the nonce is remembered before Version and Action are checked.
    const nonce = randomUUID();
    const first = await v2Post(server.port, key, "NoSuchAction", [], { nonce });
    assert.equal(bodyOf(first).Code, "InvalidApi.NotFound");
    const again = await v2Post(server.port, key, "NoSuchAction", [], { nonce });
    assert.equal(bodyOf(again).Code, "InvalidApi.NotFound", "the nonce of a call to no action was stored");
  });
});

it("one AccessKeyId's flood of nonces does not evict another's within the window (NonceWindow)", async () => {
  const nonces = new NonceWindow();
  const t0 = 1_000_000_000_000;
  assert.equal(await nonces.use("victim", "n-victim", t0, t0), "fresh");
  // 200 000 free calls (InvalidApi.NotFound) by another tenant in under 2 minutes: 1 700 a second.
  for (let i = 0; i < 200_000; i++) {
    const at = t0 + 1000 * (1 + Math.floor(i / 2000));
    await nonces.use("flooder", `n${i}`, at, at);
  }
  assert.equal(
    await nonces.use("victim", "n-victim", t0 + 2 * 60_000, t0),
    "replayed",
    "the victim's nonce was evicted: a replay is accepted",
  );
});

/** The same bound in both stores: a full key is refused ("full"), nothing of anyone's is forgotten, room comes back at ends. */
async function boundedPerKey(nonces: Nonces): Promise<void> {
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 3; i++) assert.equal(await nonces.use("flooder", `n${i}`, t0, t0 + i * 1000), "fresh");
  assert.equal(await nonces.use("flooder", "n3", t0, t0), "full", "a full key is refused, not given room");
  assert.equal(await nonces.use("flooder", "n0", t0, t0), "replayed", "its own nonces are kept");
  assert.equal(await nonces.use("victim", "n0", t0, t0), "fresh", "another key has its own room");
  // n0 ends at t0 + 901 s: room for one more, while n1 (signed a second later) is still kept.
  assert.equal(await nonces.use("flooder", "n1", t0 + 901_000, t0 + 1000), "replayed");
  assert.equal(await nonces.use("flooder", "n3", t0 + 901_000, t0 + 901_000), "fresh");
  assert.equal(await nonces.use("flooder", "n4", t0 + 901_000, t0 + 901_000), "full");
}

it("nonces are bounded per AccessKeyId, refused when full (NonceWindow)", () => boundedPerKey(new NonceWindow(3)));

it("the process's nonces are bounded in all: past the first bound a key grows only within its share, past the second none does", async () => {
  const seen = new MemorySeenOnce(4, 8);
  const t0 = 1_700_000_000_000;
  const use = (key: string, nonce: string, at = t0) => seen.firstUse(key, nonce, at, at + 901_000, 100);
  for (let i = 0; i < 4; i++) assert.equal(await use("flooder", `n${i}`), "fresh");
  assert.equal(await use("flooder", "n4"), "full", "past the first bound, a key holding all of it is refused");
  // two keys now: each may hold half of the first bound
  assert.equal(await use("quiet", "n0"), "fresh", "another key still finds room");
  assert.equal(await use("quiet", "n1"), "fresh");
  assert.equal(await use("quiet", "n2"), "full", "within its share only (the process holds 6 of 8)");
  // a third key's share is 4/3: it holds one, and may take a second while it holds less than that
  assert.equal(await use("third", "n0"), "fresh", "a third key finds room too");
  assert.equal(await use("third", "n1"), "fresh");
  assert.equal(await use("fourth", "n0"), "full", "past the second bound (8), no key finds room");
  assert.equal(await use("flooder", "n0"), "replayed", "nothing held was forgotten");
  assert.equal(await use("fourth", "n0", t0 + 901_000), "fresh", "room comes back as nonces end");
});

it("three AccessKeyIds flooding to their own bound one after another leave room for a fourth (the defaults, scaled)", async () => {
  // the defaults' proportions at a thousandth: a key's bound below the first bound, the first half the second
  assert.ok(NONCES_PER_KEY < SHARED_FROM && SHARED_FROM * 2 === SEEN_IN_PROCESS);
  const scale = 1000;
  const nonces = new SharedNonceWindow(new MemorySeenOnce(SHARED_FROM / scale, SEEN_IN_PROCESS / scale), NONCES_PER_KEY / scale);
  const t0 = 1_700_000_000_000;
  const held: number[] = [];
  for (const key of ["flood-1", "flood-2", "flood-3"]) {
    let n = 0;
    while ((await nonces.use(key, `n${n}`, t0, t0)) === "fresh") n++;
    held.push(n);
  }
  assert.deepEqual(held, [500, 375, 250], "each flood stops at its own bound, then at its share");
  assert.equal(await nonces.use("quiet", "n0", t0, t0), "fresh", "the other tenants' floods left no room for a fourth");
});

it("one account's keys share one share: six of its keys flooding one after another leave room for other accounts", async () => {
  const scale = 1000;
  const nonces = new SharedNonceWindow(new MemorySeenOnce(SHARED_FROM / scale, SEEN_IN_PROCESS / scale), NONCES_PER_KEY / scale);
  const t0 = 1_700_000_000_000;
  let held = 0;
  for (let k = 0; k < 6; k++) {
    for (let n = 0; (await nonces.use(`many-${k}`, `n${n}`, t0, t0, "account-of-many")) === "fresh"; n++) held++;
    if (k === 0) assert.equal(held, NONCES_PER_KEY / scale, "the first key stops at its own bound");
  }
  // 500 under the first key, then the one account's share (750 while it is the only one holding nonces)
  assert.equal(held, SHARED_FROM / scale, "an account's keys together stop at the account's share");
  for (const account of ["a", "b", "c"]) {
    assert.equal(await nonces.use(`key-of-${account}`, "n0", t0, t0, account), "fresh", `account ${account} finds room`);
  }
});

it("a tenant's share counts all its groups, also after one of them ended and a new one began", async () => {
  const seen = new MemorySeenOnce(4, 8);
  const t0 = 1_700_000_000_000;
  const use = (group: string, nonce: string, at: number, until: number, share?: string) =>
    seen.firstUse(group, nonce, at, until, 100, share);
  // tenant T: group A's members end early, group B's late; another tenant fills the first bound's remainder
  assert.equal(await use("A", "a0", t0, t0 + 1000, "T"), "fresh");
  assert.equal(await use("B", "b0", t0, t0 + 900_000, "T"), "fresh");
  assert.equal(await use("B", "b1", t0, t0 + 900_000, "T"), "fresh");
  assert.equal(await use("other", "o0", t0, t0 + 900_000, "U"), "fresh");
  // A has ended (swept at the next second): T holds B's two, U one, then two; the first bound (4) is reached
  assert.equal(await use("other", "o1", t0 + 2000, t0 + 900_000, "U"), "fresh");
  // T's share is 4 / 2 tenants: its new group C joins T's share, which is full; a group of no share is a tenant of its own
  assert.equal(await use("C", "c0", t0 + 2000, t0 + 900_000, "T"), "full", "a new group of T counts what T's other group holds");
  assert.equal(await use("D", "d0", t0 + 2000, t0 + 900_000), "fresh", "a third tenant finds room below its share");
});

it("nonces are bounded per AccessKeyId, refused when full (SharedNonceWindow on Redis)", async () => {
  const limits = new RedisLimits(REDIS_URL, () => {}, `nonce-bound-${randomUUID()}:`);
  try {
    // Commands fail at once until the client is connected (no offline queue): wait for it.
    for (let i = 0; ; i++) {
      try {
        await limits.ping();
        break;
      } catch (err) {
        if (i === 100) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await boundedPerKey(new SharedNonceWindow(limits, 3));
  } finally {
    await limits.close();
  }
});

describeBackends("the V2 refusal's echo", (backend) => {
  let server: TestServer;
  let key: Key;
  let other: Key;
  before(async () => {
    server = await startTestServer({ SANYAO_ADMIN_TOKEN: TOKEN }, backend);
    key = await server.addAccount("victim");
    other = await server.addAccount("attacker");
  });
  after(() => server.close());

  it("a 1 MB body of empty parameters is refused for their number, not answered with megabytes of masked string to sign", async (t) => {
    const fields: Array<[string, string]> = [];
    let size = 0;
    for (let i = 0; size < 1_000_000 - 16; i++) {
      fields.push([`p${i}`, ""]);
      size += `p${i}=&`.length;
    }
    const started = process.hrtime.bigint();
    const res = await v2Post(server.port, key, "Mobile3MetaSimpleVerify", fields, { secret: "wrong" });
    const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
    const shape = `${fields.length} parameters: ${res.status} ${res.text.length} bytes answered to a ${size}-byte request, in ${ms} ms`;
    t.diagnostic(shape);
    assert.ok(res.text.length <= 64 * 1024, shape);
    assert.equal(res.status, 400, shape);
    assert.equal(bodyOf(res).Code, "InvalidParameter", shape);
    assert.match(String(bodyOf(res).Message), /at most 100 parameters/);
  });

  it("within the number of parameters, the echoed string to sign is clipped and what is left counted", async () => {
    // 90 parameters with 1 000-character names: 90 kB of string to sign, masks and all.
    const fields = Array.from({ length: 90 }, (_, i): [string, string] => [`x${String(i).padStart(2, "0")}${"n".repeat(997)}`, "v"]);
    const res = await v2Post(server.port, key, "Mobile3MetaSimpleVerify", fields, { secret: "wrong" });
    assert.equal(bodyOf(res).Code, "SignatureDoesNotMatch");
    const message = String(bodyOf(res).Message);
    assert.ok(message.length <= 4096 + 200, `${message.length} characters echoed`);
    assert.match(message, /server string to sign is:POST&%2F&AccessKeyId%3D/);
    assert.match(message, /more characters\)&…\(\d+ more parameters\)$/);
  });

  it("a V3 call with more parameters than a call may carry is refused for their number", async () => {
    const query = Array.from({ length: 150 }, (_, i): [string, string] => [`p${i}`, "v"]);
    const res = await v3Get(server.port, key, "Mobile3MetaSimpleVerify", query);
    assert.equal(res.status, 400, res.text);
    assert.equal(bodyOf(res).Code, "InvalidParameter");
    // The SDK's own calls stay well within it.
    const ok = await cloudauth(server.port, key, "v3").call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS));
    assert.notEqual(ok.code, undefined);
  });

  it("the mask echoed to any caller is not the one a diagnosis shows for another account's call (no keyed-hash oracle)", async () => {
    // The victim's call is refused (a wrong secret); the operator (or the read-only token) reads its diagnosis.
    const victim = await v2Post(server.port, key, "Mobile3MetaDetailVerify", Object.entries(ZHANG_PARAMS), { secret: "not-it" });
    const requestId = String(bodyOf(victim).RequestId);
    let diagnosis = "";
    for (let i = 0; i < 50 && diagnosis === ""; i++) {
      const res = await fetch(`${server.url}/_sanyao/explain/${requestId}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (res.status === 200) diagnosis = JSON.stringify(await res.json());
      else await new Promise((r) => setTimeout(r, 20));
    }
    const shown = /Mobile%3D%253C([0-9a-f]{16})%253E/.exec(diagnosis)?.[1];
    assert.ok(shown, "the diagnosis shows the number's mask");
    // Anyone with another AccessKeyId sends a guess with a wrong signature: the answer says whether it is right.
    const guess = await v2Post(server.port, other, "Mobile3MetaDetailVerify", [["Mobile", ZHANG.phone]], { secret: "x" });
    assert.ok(!guess.text.includes(shown), "a refused call's answer confirms a guessed number against a diagnosis' mask");
  });

  it("the same value refused twice is masked differently each time: no answer can be compared with another", async () => {
    const masks: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await v2Post(server.port, other, "Mobile3MetaDetailVerify", [["Mobile", ZHANG.phone]], { secret: "x" });
      masks.push(/Mobile%3D%253C([0-9a-f]{16})%253E/.exec(res.text)?.[1] ?? "");
    }
    assert.ok(
      masks.every((m) => m !== ""),
      "each answer echoes the number's mask",
    );
    assert.notEqual(masks[0], masks[1]);
  });
});

describeBackends("md5 mode and the daily cap per person", (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SANYAO_DAILY_CAP: "1" }, backend);
    await server.addRecords([ZHANG]);
  });
  after(() => server.close());

  // Finding 5 of the review of issue 23: md5 calls count under the found record's keys (cloudauth/mobile-3meta.ts).
  it("once the person's cap is reached, the same person in md5 digests is capped too (403, unbilled)", async () => {
    const key = await server.addAccount("capped");
    const client = cloudauth(server.port, key, "v3");
    assert.equal((await client.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS))).code, "200");
    assert.equal((await client.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_PARAMS))).code, "403");
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) codes.push((await client.call("Mobile3MetaSimpleVerify", fieldsOf(ZHANG_MD5))).code);
    const usage = await server.installation.store.ledger.usage({ accountId: key.accountId });
    const charged = usage.reduce((n, r) => n + r.charged, 0);
    assert.deepEqual(codes, ["403", "403", "403"], `md5 calls answered ${codes.join(", ")}; ${charged} charged in all`);
  });
});

describeBackends("a V2 JSON body with a lone surrogate", (backend) => {
  let server: TestServer;
  let key: Key;
  before(async () => {
    server = await startTestServer({}, backend);
    key = await server.addAccount("surrogate");
  });
  after(() => server.close());

  it("is refused as a malformed parameter (400), not an internal error (500) logged at error level", async () => {
    const common = new URLSearchParams([
      ["AccessKeyId", key.secretId],
      ["Action", "Mobile2MetaVerify"],
      ["SignatureMethod", "HMAC-SHA1"],
      ["SignatureNonce", randomUUID()],
      ["Timestamp", isoSeconds(Date.now())],
      ["Version", "2019-03-07"],
      ["Signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="],
    ]);
    const res = await rawRequest(server.port, {
      method: "POST",
      target: `/?${common}`,
      headers: { host: `127.0.0.1:${server.port}`, "content-type": "application/json", "x-acs-action": "Mobile2MetaVerify" },
      body: '{"UserName":"\\ud800"}',
    });
    const errors = server.logs.filter((l) => l.includes('"level":50'));
    assert.equal(res.status, 400, `${res.status} ${res.text}; ${errors.length} error lines logged`);
    assert.equal(bodyOf(res).Code, "InvalidParameter");
    assert.equal(errors.length, 0);
  });
});
