/**
 * The daily caps' counts on disk (embedded mode). The writer thread adds each group commit's attempts to
 * `daily_counts` in that commit (one upsert per day and key, in key order), so a restart or a kill keeps them once
 * committed: a charged answer's before it goes out, an uncharged one's with the next commit (at most 20 ms later).
 *
 * Earlier versions appended each attempt to `daily_attempts` and folded that log into the counts later;
 * an installation they stopped (or a kill left) may still hold attempts there: the store folds them at open.
 *
 * Why not a log: a fold gains only where the same people come back between two folds. Folded whole it held the
 * write lock, and every request's commit, for 0.1–0.6 s once the day held 100,000–800,000 counts; folded in slices it
 * cost the writer more than upserting in the commit did (`npm run bench:writer`: 2 shared vCPU, writer CPU per
 * request with the log's slices against upserts in the commit, see docs/benchmark.md).
 */
import type Database from "better-sqlite3";

/** Adds n attempts to a day's count for a key. */
export const COUNT_ATTEMPTS = `INSERT INTO daily_counts (day, key, n) VALUES (?, ?, ?)
  ON CONFLICT (day, key) DO UPDATE SET n = n + excluded.n`;

/** Moves every attempt an earlier version logged into the counts, in one transaction: their sum never changes. */
export function dailyFold(db: Database.Database): () => void {
  // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to the SELECT's join.
  const fold = db.prepare(
    `INSERT INTO daily_counts (day, key, n)
       SELECT day, key, count(*) FROM daily_attempts WHERE true GROUP BY day, key ORDER BY day, key
       ON CONFLICT (day, key) DO UPDATE SET n = n + excluded.n`,
  );
  const clear = db.prepare("DELETE FROM daily_attempts");
  return db.transaction(() => {
    fold.run();
    clear.run();
  }).immediate;
}
