/**
 * The demo installation made on first start: one account, one key and synthetic records (invented numbers
 * and identity numbers with valid check characters; any match with a real person is accidental) that make
 * every result code reachable from the sample calls in docs/getting-started.md.
 */
import type { Installation } from "./installation";
import type { NewAccountDefaults } from "../store/model";
import { chinaDate } from "../rules/precheck";
import { loadRuleTables } from "../rules/tables";
import { defaultPolicy } from "../rules/policy";
import { importRows, rowsFrom } from "../sources/import";

/** `months` calendar months before the China-time day `todayChina` (YYYYMMDD), as YYYY-MM-DD. */
function monthsBefore(todayChina: string, months: number): string {
  const d = new Date(Date.UTC(Number(todayChina.slice(0, 4)), Number(todayChina.slice(4, 6)) - 1 - months, 1));
  return d.toISOString().slice(0, 10);
}

/**
 * The demo records. Line states and network-entry dates make every MobileStatus StatusCode and every tenure bucket
 * reachable; the dates are set relative to the day the demo is made, so the buckets below [24,+) age with it.
 */
export function demoRecords(todayChina: string): Array<Record<string, string>> {
  return [
    { phone: "13800001234", name: "张三", idcard: "110105199003072143" },
    { phone: "13900005678", name: "李四", idcard: "32010219881115306X", network_since: "2019-06-01" },
    { phone: "18600002468", name: "Wei Xiaobao", idcard: "440305200002295620", network_since: monthsBefore(todayChina, 1) },
    {
      phone: "13300003333",
      name: "赵六",
      idcard: "330106198001013417",
      line_status: "suspended",
      network_since: monthsBefore(todayChina, 4),
    },
    {
      phone: "15800004444",
      name: "钱七",
      idcard: "510104199208152233",
      line_status: "cancelled",
      network_since: monthsBefore(todayChina, 8),
    },
    // a number ported from China Mobile to China Telecom: the record's carrier wins over the segment
    { phone: "13800005555", name: "孙八", idcard: "310115197511201125", isp: "telecom", network_since: monthsBefore(todayChina, 18) },
    { phone: "13600007777", name: "周九", idcard: "420102198506124573", status: "suspended" },
    { phone: "13500009999", name: "吴十", idcard: "110108199502030043", status: "busy" },
    { phone: "13700001111", name: "陈一", idcard: "110101198506120039", line_status: "not-on-network" },
    { phone: "13700002222", name: "林二", idcard: "440306199308151129", line_status: "unusable" },
  ];
}

/** The meta rows that remember the demo: the SecretId of the key it made, or that the installation goes without. */
const DEMO_META = "demo.secretId";
const NO_DEMO_META = "demo.declined";

export interface DemoCredentials {
  accountId: string;
  secretId: string;
  secretKey: string;
}

/**
 * The demo of an installation, made at most once: on the first start that wants it (`make`), never again after.
 * A demo key the operator disabled or deleted stays so (the installation remembers the demo was made), and an
 * installation started once without it (`serve --no-demo`, SANYAO_DEMO=false) never gets one. Returns the demo key
 * while it is enabled and `make` holds; undefined otherwise. `sanyao serve` calls it at every start.
 */
export async function prepareDemo(
  inst: Installation,
  defaults: NewAccountDefaults,
  { make }: { make: boolean },
): Promise<DemoCredentials | undefined> {
  const { store } = inst;
  const made = await store.meta.get(DEMO_META);
  if (made !== undefined) return make ? store.apiKeys.resolve(made) : undefined;
  if ((await store.meta.get(NO_DEMO_META)) !== undefined) return undefined;
  if (!make) {
    await store.meta.set(NO_DEMO_META, new Date().toISOString());
    return undefined;
  }
  const account = await store.accounts.create("demo", defaults);
  // The demo shows the encrypted flow too: let the service use the demo account's KMS keys.
  await store.accounts.update(account.accountId, { kmsAuthorized: true });
  const key = await store.apiKeys.create(account.accountId);
  await store.meta.set(DEMO_META, key.secretId);
  if ((await store.records.count()) === 0) {
    const todayChina = chinaDate(Date.now());
    await importRows(rowsFrom(demoRecords(todayChina)), store.records, inst.keyring, {
      tables: loadRuleTables(),
      policy: defaultPolicy,
      todayChina,
    });
  }
  return { accountId: account.accountId, ...key };
}

/** The demo key of an installation, if it has one (used by `sanyao verify` without credentials). */
export async function demoCredentials(inst: Installation): Promise<DemoCredentials | undefined> {
  const secretId = await inst.store.meta.get(DEMO_META);
  return secretId ? inst.store.apiKeys.resolve(secretId) : undefined;
}
