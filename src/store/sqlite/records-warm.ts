/**
 * records.db read once from start to end when a server starts, so the operating system's page cache holds it. A
 * record lookup whose page is cached takes about as long at 30,000,000 records as at 10,000; one whose page is not
 * waits for the disk (on the development machine, lookups straight after an import of 30,000,000: p50 30 µs, p90
 * 158 µs; after the file was read once: 15 and 20 µs). An import writes the file but does not leave it cached, nor
 * does a restart. The read is paced, so it costs a start-up a fraction of one core, and bounded by half the memory
 * available: more would push out what it read first. An import's merge writes the records table first, at the
 * start of the file, so that is what a bounded read covers.
 */
import fs from "node:fs/promises";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

const CHUNK_BYTES = 4 << 20;
/** a quarter of a core or so here: the kernel's copy costs about a second of CPU per GiB read from the disk */
const BYTES_PER_SECOND = 256 << 20;

export interface Warmed {
  bytes: number;
  seconds: number;
}

/** Reads `file` from its start, at most half of the memory available; stops early (without error) when aborted. */
export async function warmFile(file: string, signal: AbortSignal): Promise<Warmed> {
  const started = performance.now();
  const handle = await fs.open(file, "r");
  try {
    const { size } = await handle.stat();
    const budget = Math.min(size, Math.floor(os.freemem() / 2));
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytes = 0;
    while (bytes < budget && !signal.aborted) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, budget - bytes), bytes);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      const ahead = (bytes / BYTES_PER_SECOND) * 1000 - (performance.now() - started);
      if (ahead > 0) await sleep(ahead, undefined, { signal }).catch(() => undefined);
    }
    return { bytes, seconds: (performance.now() - started) / 1000 };
  } finally {
    await handle.close();
  }
}
