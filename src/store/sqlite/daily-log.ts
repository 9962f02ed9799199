/**
 * The daily caps' counts on disk (embedded mode). Each attempt is appended to `daily_attempts` in its request's
 * group commit, so a restart or a kill keeps it; the attempts are folded into `daily_counts` (one upsert per key, in
 * key order): by the writer thread in slices between commits once `FOLD_FROM` are waiting, and whole at start and
 * close and before a count must be read back from disk. An append touches the log's last page only, where an upsert
 * per attempt dirtied the page of a random key each: most of what the writer thread wrote per request.
 *
 * Slices, because a fold holds the write lock and every request's commit waits for it: folding 20,000 attempts of
 * distinct people at once took 0.1 s into a day of 100,000 counts and 0.5 s into one of 800,000 (better-sqlite3,
 * 2 shared vCPU); a slice of 64 took 1.6 ms at the median at either size.
 */
import type Database from "better-sqlite3";

/** attempts waiting in the log from which the writer thread folds */
export const FOLD_FROM = 1_024;
/** attempts folded in one transaction by the writer thread */
export const FOLD_SLICE = 64;
/** how long the writer thread folds slices after a commit, at most (it folds at least one) */
export const FOLD_MS = 2;

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

/** Moves the oldest FOLD_SLICE logged attempts into the counts, in one transaction; false when fewer are waiting. */
export function dailyFoldSlice(db: Database.Database): () => boolean {
  const lastOfSlice = db.prepare<[number], number>("SELECT rowid FROM daily_attempts ORDER BY rowid LIMIT 1 OFFSET ?").pluck();
  const fold = db.prepare(
    `INSERT INTO daily_counts (day, key, n)
       SELECT day, key, count(*) FROM daily_attempts WHERE rowid <= ? GROUP BY day, key ORDER BY day, key
       ON CONFLICT (day, key) DO UPDATE SET n = n + excluded.n`,
  );
  const clear = db.prepare("DELETE FROM daily_attempts WHERE rowid <= ?");
  return db.transaction((): boolean => {
    const last = lastOfSlice.get(FOLD_SLICE - 1);
    if (last === undefined) return false;
    fold.run(last);
    clear.run(last);
    return true;
  }).immediate;
}
