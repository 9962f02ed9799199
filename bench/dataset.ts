/**
 * Synthetic records for the benchmark: generated (never real data), imported once through the same importer
 * as `sanyao records import`, and cached under bench/cache/records-<N>/ with a bench account and key.
 */
import fs from "node:fs";
import path from "node:path";
import { idCheckChar } from "../src/rules/idcard";
import { openInstallation } from "../src/app/installation";
import { loadConfig } from "../src/app/config";
import { importRows } from "../src/sources/import";
import { loadRuleTables } from "../src/rules/tables";
import { defaultPolicy } from "../src/rules/policy";
import { chinaDate } from "../src/rules/precheck";
import { packageRoot } from "../src/app/paths";

const SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈";
const GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞";

/** The i-th synthetic person: unique 11-digit numbers in the 138 segment, valid identity numbers. */
export function person(i: number): { phone: string; name: string; idcard: string } {
  const phone = `138${String(i).padStart(8, "0")}`;
  const name = SURNAMES[i % SURNAMES.length]! + GIVEN[(i * 7) % GIVEN.length]! + (i % 3 === 0 ? "" : GIVEN[(i * 13) % GIVEN.length]!);
  const y = 1950 + (i % 50);
  const m = 1 + (i % 12);
  const d = 1 + (i % 28);
  const body = `110105${y}${String(m).padStart(2, "0")}${String(d).padStart(2, "0")}${String(i % 1000).padStart(3, "0")}`;
  return { phone, name, idcard: body + idCheckChar(body) };
}

export interface Dataset {
  dataDir: string;
  records: number;
  accountId: string;
  secretId: string;
  secretKey: string;
  importSeconds: number;
}

export async function ensureDataset(records: number, log: (line: string) => void): Promise<Dataset> {
  const dataDir = path.join(packageRoot, "bench", "cache", `records-${records}`);
  const meta = path.join(dataDir, "bench.json");
  if (fs.existsSync(meta)) return JSON.parse(fs.readFileSync(meta, "utf8")) as Dataset;

  fs.rmSync(dataDir, { recursive: true, force: true });
  log(`building ${records.toLocaleString()} synthetic records in ${path.relative(process.cwd(), dataDir)} (once; cached) …`);
  const inst = await openInstallation(loadConfig({ dataDir }, {}));
  const started = process.hrtime.bigint();
  const summary = await importRows(
    (async function* () {
      for (let i = 0; i < records; i++) yield { line: i + 2, fields: person(i) };
    })(),
    inst.store.records,
    inst.keyring,
    { tables: loadRuleTables(), policy: defaultPolicy, todayChina: chinaDate(Date.now()) },
  );
  const importSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (summary.rejected > 0) throw new Error(`synthetic records rejected: ${JSON.stringify(summary.rejections.slice(0, 3))}`);
  const account = await inst.store.accounts.create("bench", { rateLimit: 1_000_000, dailyCap: 0, balance: 1_000_000_000_00 });
  await inst.store.accounts.update(account.accountId, { kmsAuthorized: true });
  const key = await inst.store.apiKeys.create(account.accountId);
  await inst.store.close();
  const dataset: Dataset = { dataDir, records, accountId: account.accountId, ...key, importSeconds };
  fs.writeFileSync(meta, JSON.stringify(dataset, null, 2));
  log(`imported ${records.toLocaleString()} records in ${importSeconds.toFixed(1)} s`);
  return dataset;
}
