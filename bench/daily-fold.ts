/**
 * What folding the daily caps' log costs the embedded store's writer (src/store/sqlite/daily-log.ts): every request's
 * commit waits while a fold holds the write lock. Appends 20,000 attempts of distinct people at a time to a fresh
 * database made with the store's own tables, then folds them whole (the request thread's fold, at start, close and
 * before a count is read back) or in the writer thread's slices, and prints how long each held the lock as the day's
 * counts grow. better-sqlite3, WAL, synchronous=NORMAL, as the store opens its file.
 *
 *   npm run bench:daily-fold
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { APPEND_ATTEMPT, dailyFold, dailyFoldSlice, FOLD_SLICE } from "../src/store/sqlite/daily-log";
import { MIGRATIONS } from "../src/store/migrations";

const APPENDED = 20_000;
const ROUNDS = 40;
const DAY = "2026-12-06";

function freshDatabase(dir: string, name: string): Database.Database {
  const db = new Database(path.join(dir, name));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  for (const version of [4, 15]) {
    const migration = MIGRATIONS.find((m) => m.version === version);
    if (!migration) throw new Error(`no migration ${version}`);
    db.exec(migration.sqlite);
  }
  return db;
}

/** A cap key as the store keeps it: an account, the counted field, a keyed hash (43 base64url characters). */
const someoneElse = () => `acct-bench:phone:${randomBytes(32).toString("base64url")}`;

function append(db: Database.Database): void {
  const insert = db.prepare(APPEND_ATTEMPT);
  db.transaction(() => {
    for (let i = 0; i < APPENDED; i++) insert.run(DAY, someoneElse());
  })();
}

const ms = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sanyao-daily-fold-"));
  try {
    const whole = freshDatabase(dir, "whole.db");
    const sliced = freshDatabase(dir, "sliced.db");
    const foldWhole = dailyFold(whole);
    const foldSlice = dailyFoldSlice(sliced);
    console.log(
      `${APPENDED.toLocaleString()} attempts of distinct people appended, then folded; ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}`,
    );
    console.log(`| counts in the day | whole fold ms | slices of ${FOLD_SLICE}: p50 / p99 / max ms | slices' sum ms |`);
    console.log("|---|---|---|---|");
    for (let round = 1; round <= ROUNDS; round++) {
      append(whole);
      let started = process.hrtime.bigint();
      foldWhole();
      const wholeMs = ms(started);
      append(sliced);
      const slices: number[] = [];
      for (;;) {
        started = process.hrtime.bigint();
        if (!foldSlice()) break;
        slices.push(ms(started));
      }
      if (round % 5 !== 0) continue;
      slices.sort((a, b) => a - b);
      const sum = slices.reduce((a, b) => a + b, 0);
      const cells = [quantile(slices, 0.5), quantile(slices, 0.99), quantile(slices, 1)].map((v) => v.toFixed(1)).join(" / ");
      console.log(`| ${(round * APPENDED).toLocaleString()} | ${wholeMs.toFixed(0)} | ${cells} | ${sum.toFixed(0)} |`);
    }
    whole.close();
    sliced.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
