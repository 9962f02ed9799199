/**
 * Where an import's batches are packed: worker threads for a file large enough to pay for starting them (the
 * keyed hashes are most of an import's CPU), else the calling thread. Either way results come back in the order
 * the batches went in, and at most `depth` batches are in the air (memory stays bounded).
 */
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { type BatchContext, type BatchInput, type BatchOutput, batchPacker } from "./import-batch";

export interface Packers {
  /** how many batches may be submitted before the first is taken */
  readonly depth: number;
  pack(input: BatchInput): Promise<BatchOutput>;
  close(): Promise<void>;
}

export function inlinePackers(context: BatchContext): Packers {
  const pack = batchPacker(context);
  return { depth: 1, pack: async (input) => pack(input), close: async () => undefined };
}

/** One worker a core, at most four; never fewer than two, so reading and packing overlap on one core too. */
export function workerPackers(context: BatchContext): Packers {
  const count = Math.max(2, Math.min(4, os.availableParallelism()));
  const waiting = new Map<number, { resolve: (o: BatchOutput) => void; reject: (e: unknown) => void }>();
  let failure: unknown;
  const fail = (err: unknown) => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const workers = Array.from({ length: count }, () => {
    const worker = new Worker(path.join(__dirname, "import-worker.js"), { workerData: context });
    worker.on("message", (message: { id: number; output: BatchOutput }) => {
      const { packed } = message.output;
      const w = waiting.get(message.id);
      waiting.delete(message.id);
      // a transferred Buffer arrives as a plain Uint8Array
      w?.resolve({ ...message.output, packed: Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength) });
    });
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (code !== 0) fail(new Error(`an import worker thread stopped (exit code ${code})`));
    });
    return worker;
  });
  let next = 0;
  return {
    depth: count * 2,
    pack(input) {
      if (failure !== undefined) return Promise.reject(failure);
      const id = next++;
      const worker = workers[id % count];
      if (!worker) return Promise.reject(new Error("no import worker thread"));
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, input });
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
