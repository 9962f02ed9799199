/**
 * A demo installation for the console's screenshots and its gateway test: a gateway whose upstream is a second
 * sanyao (as in examples/gateway.sh), two teams with budgets, calls answered, cached, refused at the signature and
 * taken by a scenario, and the demo records. Personal values only from the demo table, shown masked.
 */
import { demoRecords } from "../../src/app/demo";
import { chinaDate } from "../../src/rules/precheck";
import { faceidSdk } from "../helpers/sdk";
import { type TestServer, startTestServer } from "../helpers/server";

export const DEMO_TOKEN = "sy_console_demo_operator_token";
export const ALICE = { Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" };

export interface Demo {
  upstream: TestServer;
  gateway: TestServer;
  teams: Array<{ accountId: string; secretId: string; secretKey: string }>;
  /** a call refused at its signature: its page shows the diagnosis */
  refusedRequestId: string;
  close(): Promise<void>;
}

const quietly = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (err: unknown) => (err as { requestId?: string }).requestId ?? "",
  );

export async function startDemo(): Promise<Demo> {
  const upstream = await startTestServer({ SANYAO_ADMIN_TOKEN: "sy_console_demo_upstream_token" });
  const company = await upstream.addAccount("company");
  const records = demoRecords(chinaDate(Date.now()));
  await upstream.addRecords(records);
  const gateway = await startTestServer({ SANYAO_ADMIN_TOKEN: DEMO_TOKEN, SANYAO_UPSTREAM_TIMEOUT_MS: "1500", SANYAO_CACHE_TTL: "600" });
  await gateway.addRecords(records);
  const keys = JSON.parse((await upstream.cli(["encryption", "public-keys", "--json"])).stdout) as { rsa: string; sm2: string };
  const set = await gateway.cli([
    "upstream",
    "set",
    "--secret-id",
    company.secretId,
    "--secret-key",
    company.secretKey,
    "--url",
    upstream.url,
    "--rsa-public-key",
    keys.rsa,
    "--sm2-public-key",
    keys.sm2,
  ]);
  if (set.code !== 0) throw new Error(`upstream set: ${set.stderr}`);
  const teams = [await gateway.addAccount("Payments team"), await gateway.addAccount("Onboarding team")];
  const budgets = ["100", "20"];
  for (const [i, team] of teams.entries()) {
    await gateway.cli(["accounts", "set", team.accountId, "--monthly-budget", budgets[i] ?? "0"]);
  }
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the gateway sees the new upstream within a second

  const [payments, onboarding] = teams;
  if (!payments || !onboarding) throw new Error("two teams");
  const sdk = faceidSdk(gateway.port, payments);
  for (let i = 0; i < 3; i++) await quietly(sdk.PhoneVerification(ALICE)); // the second and third from the cache
  await quietly(sdk.CheckPhoneAndName({ Mobile: ALICE.Phone, Name: ALICE.Name }));
  await quietly(faceidSdk(gateway.port, onboarding).IdCardVerification({ IdCard: ALICE.IdCard, Name: ALICE.Name }));
  await gateway.cli([
    "scenarios",
    "add",
    "--account",
    payments.accountId,
    "--action",
    "MobileStatus",
    "--error",
    "InternalError",
    "--times",
    "5",
  ]);
  await quietly(sdk.MobileStatus({ Mobile: ALICE.Phone }));
  await gateway.cli(["scenarios", "add", "--account", onboarding.accountId, "--phone", ALICE.Phone, "--delay-ms", "100-400"]);
  const refusedRequestId = await quietly(
    faceidSdk(gateway.port, { ...payments, secretKey: `${payments.secretKey} ` }).PhoneVerification(ALICE),
  );
  return {
    upstream,
    gateway,
    teams,
    refusedRequestId: refusedRequestId ?? "",
    async close() {
      await gateway.close();
      await upstream.close();
    },
  };
}
