/**
 * Synthetic records for the benchmark: generated (never real data), imported once with the `sanyao` command of
 * the server under test (so a data set always suits the server that reads it), and cached under
 * bench/cache/records-<N>[-<server>]/ with a bench account and key. Servers run on fresh copies of it (fresh.ts).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { idCheckChar } from "../src/rules/idcard";
import { packageRoot } from "../src/common/paths";
import { startProcess } from "./proc";

const run = promisify(execFile);
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
  /** set on caches that no server has written to: each server runs on a fresh copy (fresh.ts) */
  pristine?: boolean;
}

/** `serverRoot`: the package whose bin/sanyao.js is measured (this one unless --server-root names another). */
export async function ensureDataset(records: number, serverRoot: string, log: (line: string) => void): Promise<Dataset> {
  const own = path.resolve(serverRoot) === path.resolve(packageRoot);
  const suffix = own ? "" : `-${createHash("sha256").update(path.resolve(serverRoot)).digest("hex").slice(0, 8)}`;
  const dataDir = path.join(packageRoot, "bench", "cache", `records-${records}${suffix}`);
  const meta = path.join(dataDir, "bench.json");
  if (fs.existsSync(meta)) {
    const cached = JSON.parse(fs.readFileSync(meta, "utf8")) as Dataset;
    // A cache from before fresh copies was served directly: it holds the ledger and audit of every run since.
    if (cached.pristine) return cached;
  }

  fs.rmSync(dataDir, { recursive: true, force: true });
  log(`building ${records.toLocaleString()} synthetic records in ${path.relative(process.cwd(), dataDir)} (once; cached) …`);
  const bin = path.join(serverRoot, "bin", "sanyao.js");
  const sanyao = async (...args: string[]) =>
    (await run(process.execPath, [bin, ...args, "--data", dataDir], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  // The first start creates the installation (and its demo account); the records go in through the CLI.
  const first = await startProcess([bin, "serve", "--port", "0", "--data", dataDir], /at http:\/\/127\.0\.0\.1:(\d+)\//);
  await first.stop();
  const csv = path.join(dataDir, "records.csv");
  await writeCsv(csv, records);
  const started = process.hrtime.bigint();
  const summary = JSON.parse(await sanyao("records", "import", csv, "--json")) as { rejected: number };
  const importSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.rmSync(csv);
  if (summary.rejected > 0) throw new Error(`synthetic records rejected: ${JSON.stringify(summary)}`);
  const account = JSON.parse(await sanyao("accounts", "create", "--name", "bench", "--json")) as { accountId: string };
  await sanyao("accounts", "set", account.accountId, "--rate-limit", "1000000", "--daily-cap", "0", "--kms-authorized", "true");
  await sanyao("accounts", "top-up", account.accountId, "1000000000");
  const key = JSON.parse(await sanyao("keys", "create", "--account", account.accountId, "--json")) as {
    secretId: string;
    secretKey: string;
  };
  const dataset: Dataset = {
    dataDir,
    records,
    accountId: account.accountId,
    secretId: key.secretId,
    secretKey: key.secretKey,
    importSeconds,
    pristine: true,
  };
  fs.writeFileSync(meta, JSON.stringify(dataset, null, 2));
  log(`imported ${records.toLocaleString()} records in ${importSeconds.toFixed(1)} s`);
  return dataset;
}

async function writeCsv(file: string, records: number): Promise<void> {
  const out = fs.createWriteStream(file);
  out.write("phone,name,idcard\n");
  for (let i = 0; i < records; i++) {
    const p = person(i);
    if (!out.write(`${p.phone},${p.name},${p.idcard}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
