/**
 * records.db read once from start to end when a server starts, so the operating system's page cache holds it. A
 * record lookup whose page is cached takes about as long at 30,000,000 records as at 10,000; one whose page is not
 * waits for the disk (on the development machine, lookups straight after an import of 30,000,000: p50 30 µs, p90
 * 158 µs; after the file was read once: 15 and 20 µs). An import writes the file but does not leave it cached, nor
 * does a restart. The read is paced, so it costs a start-up a fraction of one core, and bounded by half the memory
 * available: more would push out what it read first. A first import into a file writes the records table at its
 * start, so that is what a bounded read covers; later imports and the other tables may lie anywhere.
 *
 * The file stays open until the store has closed its connections: on POSIX, closing any descriptor of a file drops
 * every lock the process holds on it, SQLite's among them.
 */
import type { FileHandle } from "node:fs/promises";
import fs from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { availableMemory } from "../../common/memory";
import type { Warmed } from "../ports";

const CHUNK_BYTES = 4 << 20;
/** a quarter of a core or so here: the kernel's copy costs about a second of CPU per GiB read from the disk */
const BYTES_PER_SECOND = 256 << 20;

export class RecordsFileWarmer {
  private handle: Promise<FileHandle> | undefined;
  private reading: Promise<unknown> = Promise.resolve();
  private readonly stopping = new AbortController();

  constructor(private readonly file: string) {}

  /** Reads the file from its start until done, or until `signal` or the store's close aborts it. */
  warm(signal: AbortSignal): Promise<Warmed> {
    const stop = AbortSignal.any([signal, this.stopping.signal]);
    const run = this.reading.then(() => this.read(stop));
    this.reading = run.catch(() => undefined);
    return run;
  }

  /** After the store's connections have closed: ends a read under way, then closes the file. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.reading;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }

  private async read(signal: AbortSignal): Promise<Warmed> {
    // after the store's close: no descriptor is opened that nothing would close
    if (signal.aborted) return { bytes: 0, of: 0, seconds: 0 };
    const started = performance.now();
    this.handle ??= fs.open(this.file, "r");
    const handle = await this.handle;
    const { size } = await handle.stat();
    const of = Math.min(size, Math.floor(availableMemory() / 2));
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytes = 0;
    while (bytes < of && !signal.aborted) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, of - bytes), bytes);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      const ahead = (bytes / BYTES_PER_SECOND) * 1000 - (performance.now() - started);
      if (ahead > 0) await sleep(ahead, undefined, { signal }).catch(() => undefined);
    }
    return { bytes, of, seconds: (performance.now() - started) / 1000, ...(of < size ? { boundBy: "half the memory available" } : {}) };
  }
}
