/**
 * records.db's pages that SQLite's map does not reach are read with a system call each time, into the reading
 * connection's page cache, and the default cache keeps few of them. SQLite maps at most 2 GiB of a file (the
 * SQLITE_MAX_MMAP_SIZE it was built with); 30,000,000 records take a records table of about 4 GB (a 14 GB file), so
 * a lookup there read six pages from the root to its leaf and about half of the leaves lay past the map: its p50
 * was 2.5 times the 10,000-record figure, and 1.2 to 1.7 times with the walk below (bench:import, docs/benchmark.md).
 *
 * So the request path's connection may cache a share of the memory available when the store opens (pages are taken
 * only as they are read: a set inside the map costs nothing), and where the file is larger than the map, a server's
 * start walks the records table through it, in slices between requests, so the pages past the map are in that
 * cache before lookups need them. (The table may still lie within the map: a first import writes it at the file's
 * head, so from about 4.6 to 15 million records the walk gains nothing.) It walks after the read of the file into
 * the operating system's page cache (records-warm.ts) where this process reads it; the other workers of
 * `serve --workers` walk at once, beside that read, so a slice may wait for the disk: each slice ends after SLICE_MS,
 * and the walk rests as long as a slice took, so it keeps at most half a core. Only the records table is walked:
 * the digests' (EncryptedPhoneVerification) and the identity numbers' index stay as the read left them. An import
 * empties the cache (SQLite drops a connection's cache when another connection writes the file); a server's next
 * start fills it again.
 */
import type Database from "better-sqlite3";
import { setTimeout as sleep } from "node:timers/promises";
import { availableMemory } from "../../common/memory";
import type { CacheWalk } from "../ports";
import { LEAST_CACHE_BYTES } from "./limits";
import type { TurnSnapshot } from "./turn-snapshot";

/** a slice's time on the main thread: what a request may wait behind it, beyond the few pages read between clock looks */
const SLICE_MS = 0.5;
/** rows between looks at the clock */
const ROWS_PER_LOOK = 64;
/**
 * The request path's cache of records.db: `bytes`, the most its connection caches, at least LEAST_CACHE_BYTES:
 * `given` bytes (an operator's setting), else a quarter of the memory available now, shared by `processes` serving
 * processes (each has its own). `off`: the operator set 0, which keeps that least and turns the walk below off.
 */
export function recordsCache(processes: number, given?: number): { bytes: number; off: boolean } {
  const bytes = Math.max(LEAST_CACHE_BYTES, given ?? Math.floor(availableMemory() / 4 / Math.max(1, processes)));
  return { bytes, off: given === 0 };
}

/** Walks the records table in key order on `reader`, in slices of SLICE_MS, until done or `signal`. */
export function recordsCacheWalker(
  reader: Database.Database,
  snapshot: TurnSnapshot,
  cache: { off: boolean },
): (signal: AbortSignal) => Promise<CacheWalk> {
  // from after `last`; the first slice from after the empty blob, which sorts before every key
  const after = reader.prepare<[Buffer], Buffer>("SELECT phone_hash FROM records WHERE phone_hash > ? ORDER BY phone_hash").pluck();
  const pragma = (name: string) => {
    const value = reader.pragma(name, { simple: true });
    return typeof value === "number" ? value : 0;
  };
  return async (signal) => {
    if (cache.off) return { rows: 0, seconds: 0, complete: true, skipped: "the records cache is set to 0 MiB" };
    // a file the map holds whole is read from it: nothing would go into the cache
    if (reader.open && pragma("page_count") * pragma("page_size") <= pragma("mmap_size"))
      return { rows: 0, seconds: 0, complete: true, skipped: "SQLite's map of records.db holds the whole file" };
    const started = performance.now();
    let rows = 0;
    let last: Buffer = Buffer.alloc(0);
    let done = false;
    /** one slice: true when the table's end was reached */
    const slice = (): boolean => {
      const began = performance.now();
      // leaving the loop early returns the iterator, which resets the statement
      for (const phoneHash of after.iterate(last)) {
        last = phoneHash;
        if (++rows % ROWS_PER_LOOK === 0 && performance.now() - began > SLICE_MS) return false;
      }
      return true;
    };
    // the store's close may end the connection while the walk rests (the server aborts the walk before, a bench
    // script may not): an open check comes before each slice
    while (!done && !signal.aborted && reader.open) {
      const began = performance.now();
      done = snapshot.read(slice);
      if (!done) await sleep(performance.now() - began, undefined, { signal }).catch(() => undefined);
    }
    return { rows, seconds: (performance.now() - started) / 1000, complete: done };
  };
}
