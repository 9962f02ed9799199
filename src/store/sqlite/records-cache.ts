/**
 * records.db's pages that SQLite's map does not reach are read with a system call each time, into the reading
 * connection's page cache, and the default cache keeps few of them. SQLite maps at most 2 GiB of a file (the
 * SQLITE_MAX_MMAP_SIZE it was built with); 30,000,000 records take about 4 GB, so a lookup there read six pages
 * from the root to its leaf and about half of the leaves lay past the map: its p50 was 2.5 times the 10,000-record
 * figure, and about 1.3 times with every page in the cache (bench:import, docs/benchmark.md).
 *
 * So the request path's connection may cache up to a quarter of the memory available when the store opens (pages
 * are taken only as they are read: a set inside the map costs nothing), and a server's start walks the records table
 * through it, a slice at a time between requests (after the read of the file into the operating system's page cache,
 * records-warm.ts), so the pages past the map are in that cache before lookups need them. Each worker of
 * `serve --workers` has its connection and its cache, and walks. Only the records table is walked: the digests'
 * (EncryptedPhoneVerification) and the identity numbers' index stay as the read left them. An import empties the
 * cache (SQLite drops a connection's cache when another connection writes the file); a server's next start fills
 * it again.
 */
import type Database from "better-sqlite3";
import os from "node:os";
import type { CacheWalk } from "../ports";
import type { TurnSnapshot } from "./turn-snapshot";

/**
 * rows per slice: about 35 leaf pages, and at most about 0.6 ms of the main thread between requests (30,000,000
 * records walked in 18.9 s on 2 shared vCPU; less where the map holds the pages)
 */
const SLICE_ROWS = 1_000;
const LEAST_CACHE_BYTES = 64 << 20;

/** Memory available to this process: the machine's, or a container's limit where Node knows it. */
export function availableMemory(): number {
  const limited = "availableMemory" in process && typeof process.availableMemory === "function" ? process.availableMemory() : Infinity;
  return Math.min(os.freemem(), limited);
}

/** The most the request path's connection caches of records.db: a quarter of the memory available now, at least 64 MiB. */
export function recordsCacheBytes(): number {
  return Math.max(LEAST_CACHE_BYTES, Math.floor(availableMemory() / 4));
}

/** Walks the records table in key order on `reader`, one slice per turn of the event loop, until done or `signal`. */
export function recordsCacheWalker(reader: Database.Database, snapshot: TurnSnapshot): (signal: AbortSignal) => Promise<CacheWalk> {
  const first = reader.prepare<[number], Buffer>("SELECT phone_hash FROM records ORDER BY phone_hash LIMIT ?").pluck();
  const next = reader
    .prepare<[Buffer, number], Buffer>("SELECT phone_hash FROM records WHERE phone_hash > ? ORDER BY phone_hash LIMIT ?")
    .pluck();
  return async (signal) => {
    const started = performance.now();
    let rows = 0;
    let last: Buffer | undefined;
    // the store's close ends the connection before it aborts the walk: an open check comes before each slice
    while (!signal.aborted && reader.open) {
      const after = last;
      const slice = snapshot.read(() => (after ? next.all(after, SLICE_ROWS) : first.all(SLICE_ROWS)));
      rows += slice.length;
      last = slice.at(-1);
      if (slice.length < SLICE_ROWS) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { rows, seconds: (performance.now() - started) / 1000 };
  };
}
