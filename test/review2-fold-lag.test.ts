/**
 * Review: the writer folds at most ~2 ms of slices after each commit, whatever that commit appended; under
 * concurrent calls (large group commits) the log grows past FOLD_FROM + FOLD_SLICE, and the whole fold left for
 * settled()/close runs on the request thread, as before the change.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { it } from "node:test";
import Database from "better-sqlite3";
import { FOLD_FROM, FOLD_SLICE } from "../src/store/sqlite/daily-log";
import { DATABASE_FILE } from "../src/store/sqlite/store";
import { verify } from "./helpers/call";
import { startTestServer } from "./helpers/server";

function withCheck(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((n, d, i) => n + Number(d) * (weights[i] ?? 0), 0);
  return first17 + ("10X98765432"[sum % 11] ?? "");
}
const person = (i: number) => ({
  Phone: `138${String(10_000_000 + i).slice(-8)}`,
  Name: "李四",
  IdCard: withCheck(`110105${new Date(Date.UTC(1950, 0, 1) + i * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "")}123`),
});

it("review2: under 100 concurrent calls the log stays within FOLD_FROM + FOLD_SLICE", async () => {
  const server = await startTestServer({
    SANYAO_DAILY_CAP: "5",
    SANYAO_RATE_LIMIT: "1000000",
    SANYAO_RATE_LIMITS: "PhoneVerification=1000000",
  });
  try {
    const key = await server.addAccount();
    const people = Number(process.env.R2_PEOPLE ?? 6000);
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < people) await verify(server.port, key, person(next++));
      }),
    );
    const ms = Date.now() - started;
    const sample = await verify(server.port, key, person(7));
    console.log("sample", sample.Result);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const db = new Database(path.join(server.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const waiting = db.prepare<[], number>("SELECT count(*) FROM daily_attempts").pluck().get() ?? 0;
      const folded = db.prepare<[], number>("SELECT coalesce(sum(n), 0) FROM daily_counts").pluck().get() ?? 0;
      console.log(`calls/s ${((people * 1000) / ms).toFixed(0)} waiting ${waiting} folded ${folded}`);
      assert.equal(waiting + folded, 2 * people);
      assert.ok(waiting < FOLD_FROM + FOLD_SLICE, `${waiting} attempts still in the log`);
    } finally {
      db.close();
    }
  } finally {
    await server.close();
  }
});
