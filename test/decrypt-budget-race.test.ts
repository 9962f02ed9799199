/**
 * The decryption-failure budget holds however the failures are sent (issue 19 item 4): checked and counted in one
 * atomic step, so calls sent together cannot all pass the check before any is counted. Exactly the budget's number
 * of them are answered DecryptSystemError in a window, the rest RequestLimitExceeded — in process, across two
 * instances sharing Redis, and across the workers of `serve --workers 2`.
 */
import assert from "node:assert/strict";
import { constants, publicEncrypt, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { callTc3, type Key } from "./helpers/call";
import { sanyao, serveProcess, type ServeProcess } from "./helpers/cli";
import { describeBackends, serversOnOneInstallation, tempDir, type TestServer } from "./helpers/server";

/** The documented default budget (README, "The decryption-failure budget"). */
const BUDGET = 20;
const WINDOW_MS = 600_000;
const AT_ONCE = 200;
/** A fixed clock one second into a window: every call falls in it. */
const NOW = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS + 1000;

/** PhoneVerification whose phone never opens: random bytes under a data key wrapped for this installation. */
function failingCall(rsaPem: string): Record<string, unknown> {
  const blob = publicEncrypt({ key: rsaPem, padding: constants.RSA_PKCS1_PADDING }, randomBytes(32)).toString("base64");
  return {
    Phone: randomBytes(16).toString("base64"),
    Name: "张三",
    IdCard: "110105199003072143",
    CiphertextBlob: blob,
    EncryptList: ["Phone"],
    Iv: randomBytes(16).toString("base64"),
  };
}

/** How many answers of each code. */
function tally(codes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const code of codes) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

describeBackends("the decryption-failure budget under concurrency", (backend) => {
  // Two instances on one installation in scale-out (the verdicts are reached in Redis); one embedded server otherwise.
  let servers: TestServer[];
  let key: Key;
  let rsaPem: string;
  before(async () => {
    const started = await serversOnOneInstallation(backend);
    const [first] = started;
    servers = started;
    for (const s of servers) s.setNow(NOW);
    key = await first.addAccount("prober");
    rsaPem = (await first.installation.envelopeKeys()).rsaPublicPem;
  });
  after(async () => {
    for (const s of [...servers].reverse()) await s.close();
  });

  it(`${AT_ONCE} failed openings sent at once: exactly ${BUDGET} answered DecryptSystemError, one lockout`, async (t) => {
    const codes = await Promise.all(
      Array.from({ length: AT_ONCE }, async (_, i) => {
        const server = servers[i % servers.length];
        if (!server) throw new Error("no server started");
        const r = await callTc3(server.port, key, failingCall(rsaPem), { timestamp: Math.floor(NOW / 1000) });
        return String(r.json.Response.Error?.Code ?? r.json.Response.Result);
      }),
    );
    const counts = tally(codes);
    t.diagnostic(`${backend}: ${JSON.stringify(counts)}`);
    assert.deepEqual(counts, {
      "FailedOperation.DecryptSystemError": BUDGET,
      "FailedOperation.RequestLimitExceeded": AT_ONCE - BUDGET,
    });
    const lockouts = servers.flatMap((s) => s.logs).filter((l) => /"msg":"decryption failures reached the budget/.test(l));
    assert.equal(lockouts.length, 1, "one log line when the budget is reached");
  });
});

describe("the decryption-failure budget under concurrency, serve --workers 2", () => {
  const data = tempDir();
  const LIMIT = 6;
  let server: ServeProcess;
  let key: Key;
  let rsaPem = "";
  before(async () => {
    server = await serveProcess(["--data", data, "--workers", "2"], {
      SANYAO_CLOCK: String(NOW),
      SANYAO_DECRYPT_FAILURE_LIMIT: String(LIMIT),
    });
    const cli = async (...args: string[]) => JSON.parse((await sanyao([...args, "--data", data, "--json"])).stdout);
    const account = await cli("accounts", "create", "--name", "w");
    key = await cli("keys", "create", "--account", account.accountId);
    await cli("accounts", "set", account.accountId, "--daily-cap", "0", "--rate-limit", "100000");
    rsaPem = Buffer.from((await cli("encryption", "public-keys")).rsa, "base64").toString();
  });
  after(() => server.stop());

  it(`${AT_ONCE} failed openings sent at once over both workers: exactly ${LIMIT} answered DecryptSystemError`, async (t) => {
    const codes = await Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        // a connection each: the calls spread over both workers
        const r = await callTc3(server.port, key, failingCall(rsaPem), {
          timestamp: Math.floor(NOW / 1000),
          extraHeaders: { Connection: "close" },
        });
        return String(r.json.Response.Error?.Code ?? r.json.Response.Result);
      }),
    );
    const counts = tally(codes);
    t.diagnostic(`workers: ${JSON.stringify(counts)}`);
    assert.deepEqual(counts, {
      "FailedOperation.DecryptSystemError": LIMIT,
      "FailedOperation.RequestLimitExceeded": AT_ONCE - LIMIT,
    });
  });
});
