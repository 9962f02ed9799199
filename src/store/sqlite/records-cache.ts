/**
 * records.db's pages that SQLite's map does not reach are read with a system call each time, into the reading
 * connection's page cache, and the default cache keeps few of them. SQLite maps at most 2 GiB of a file (the
 * SQLITE_MAX_MMAP_SIZE it was built with); 30,000,000 records take about 4 GB, so a lookup there read six pages
 * from the root to its leaf and about half of the leaves lay past the map: its p50 was 2.5 times the 10,000-record
 * figure, and about 1.3 times with every page in the cache (bench:import, docs/benchmark.md).
 *
 * So the request path's connection may cache a share of the memory available when the store opens (pages are taken
 * only as they are read: a set inside the map costs nothing), and where the file is larger than the map, a server's
 * start walks the records table through it, in slices between requests, so the pages past the map are in that cache before lookups need them. It walks
 * after the read of the file into the operating system's page cache (records-warm.ts) where this process reads it;
 * the other workers of `serve --workers` walk at once, beside that read, so a slice may wait for the disk: each
 * slice ends after SLICE_MS, and the walk rests as long as a slice took, so it keeps at most half a core. Only the
 * records table is walked: the digests' (EncryptedPhoneVerification) and the identity numbers' index stay as the
 * read left them. An import empties the cache (SQLite drops a connection's cache when another connection writes the
 * file); a server's next start fills it again.
 */
import type Database from "better-sqlite3";
import { setTimeout as sleep } from "node:timers/promises";
import { availableMemory } from "../../common/memory";
import type { CacheWalk } from "../ports";
import type { TurnSnapshot } from "./turn-snapshot";

/** a slice's time on the main thread: what a request may wait behind it, beyond one page read from the disk */
const SLICE_MS = 0.5;
/** rows between looks at the clock */
const ROWS_PER_LOOK = 64;
const LEAST_CACHE_BYTES = 64 << 20;

/**
 * The most the request path's connection caches of records.db: a quarter of the memory available now, shared by
 * `processes` serving processes (each has its own), at least 64 MiB.
 */
export function recordsCacheBytes(processes: number): number {
  return Math.max(LEAST_CACHE_BYTES, Math.floor(availableMemory() / 4 / Math.max(1, processes)));
}

/** Walks the records table in key order on `reader`, in slices of SLICE_MS, until done or `signal`. */
export function recordsCacheWalker(reader: Database.Database, snapshot: TurnSnapshot): (signal: AbortSignal) => Promise<CacheWalk> {
  const first = reader.prepare<[], Buffer>("SELECT phone_hash FROM records ORDER BY phone_hash").pluck();
  const next = reader.prepare<[Buffer], Buffer>("SELECT phone_hash FROM records WHERE phone_hash > ? ORDER BY phone_hash").pluck();
  const pragma = (name: string) => {
    const value = reader.pragma(name, { simple: true });
    return typeof value === "number" ? value : 0;
  };
  return async (signal) => {
    // a file the map holds whole is read from it: nothing would go into the cache
    if (reader.open && pragma("page_count") * pragma("page_size") <= pragma("mmap_size"))
      return { rows: 0, seconds: 0, complete: true, skipped: "SQLite's map of records.db holds the whole file" };
    const started = performance.now();
    let rows = 0;
    let last: Buffer | undefined;
    let done = false;
    /** one slice: true when the table's end was reached */
    const slice = (): boolean => {
      const began = performance.now();
      // leaving the loop early returns the iterator, which resets the statement
      for (const phoneHash of last ? next.iterate(last) : first.iterate()) {
        last = phoneHash;
        if (++rows % ROWS_PER_LOOK === 0 && performance.now() - began > SLICE_MS) return false;
      }
      return true;
    };
    // the store's close ends the connection before it aborts the walk: an open check comes before each slice
    while (!done && !signal.aborted && reader.open) {
      const began = performance.now();
      done = snapshot.read(slice);
      if (!done) await sleep(performance.now() - began, undefined, { signal }).catch(() => undefined);
    }
    return { rows, seconds: (performance.now() - started) / 1000, complete: done };
  };
}
