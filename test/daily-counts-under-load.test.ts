/**
 * The daily caps' counts under concurrent calls (embedded mode): each group commit adds its attempts to the counts,
 * a number asked twice in one commit once with both, and none is lost or counted twice.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { it } from "node:test";
import Database from "better-sqlite3";
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

it("under 100 concurrent calls every attempt is counted once, people asked again in the same commits included", async () => {
  const server = await startTestServer({
    SANYAO_DAILY_CAP: "5",
    SANYAO_RATE_LIMIT: "1000000",
    SANYAO_RATE_LIMITS: "PhoneVerification=1000000",
  });
  try {
    const key = await server.addAccount();
    const people = 1500;
    const calls = 4 * people; // each person four times, the repeats close together
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < calls) {
          const i = next++;
          assert.equal((await verify(server.port, key, person(Math.floor(i / 4)))).Result, "-9");
        }
      }),
    );
    // one more call, answered after every earlier one's attempts were committed (they are in its group or before)
    assert.equal((await verify(server.port, key, person(people))).Result, "-9");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const db = new Database(path.join(server.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const counts = db
        .prepare<[], { n: number; keys: number }>("SELECT count(*) AS keys, coalesce(sum(n), 0) AS n FROM daily_counts")
        .get();
      assert.deepEqual(counts, { keys: 2 * (people + 1), n: 2 * (calls + 1) });
      const wrong = db.prepare<[], number>("SELECT count(*) FROM daily_counts WHERE n <> 4").pluck().get();
      assert.equal(wrong, 2, "every person's two keys count 4, but the last one's");
      assert.equal(db.prepare<[], number>("SELECT count(*) FROM daily_attempts").pluck().get(), 0);
    } finally {
      db.close();
    }
  } finally {
    await server.close();
  }
});
