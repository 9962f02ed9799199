/**
 * The daily caps' log under concurrent calls (embedded mode): the writer folds after each commit at least what that
 * commit appended, so large group commits do not let the log grow and leave a whole fold for the request thread (a
 * review found it grew by about 60 attempts a second when the writer folded for a fixed 2 ms only).
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

it("under 100 concurrent calls the log stays within FOLD_FROM + FOLD_SLICE, and nothing is lost", async () => {
  const server = await startTestServer({
    SANYAO_DAILY_CAP: "5",
    SANYAO_RATE_LIMIT: "1000000",
    SANYAO_RATE_LIMITS: "PhoneVerification=1000000",
  });
  try {
    const key = await server.addAccount();
    const people = 6000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < people) await verify(server.port, key, person(next++));
      }),
    );
    // one more call, answered after every earlier one's attempts were committed (they are in its group or before)
    assert.equal((await verify(server.port, key, person(7))).Result, "-9");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const db = new Database(path.join(server.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const waiting = db.prepare<[], number>("SELECT count(*) FROM daily_attempts").pluck().get() ?? 0;
      const folded = db.prepare<[], number>("SELECT coalesce(sum(n), 0) FROM daily_counts").pluck().get() ?? 0;
      assert.equal(waiting + folded, 2 * (people + 1));
      assert.ok(waiting < FOLD_FROM + FOLD_SLICE, `${waiting} attempts still in the log`);
    } finally {
      db.close();
    }
  } finally {
    await server.close();
  }
});
