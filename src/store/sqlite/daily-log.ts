/**
 * The daily caps' counts on disk (embedded mode). Each attempt is appended to `daily_attempts` in its request's
 * group commit, so a restart or a kill keeps it; the attempts are folded into `daily_counts` (one upsert per key, in
 * key order) every `FOLD_EVERY` appended keys, at start and close, and before a count must be read back from disk.
 * An append touches the log's last page only, where an upsert per attempt dirtied the page of a random key each:
 * most of what the writer thread wrote per request.
 */
import type Database from "better-sqlite3";

/** keys appended between two folds in the writer thread */
export const FOLD_EVERY = 20_000;

export const APPEND_ATTEMPT = "INSERT INTO daily_attempts (day, key) VALUES (?, ?)";

/** Moves every logged attempt into the counts, in one transaction: the sum of the two tables never changes. */
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
