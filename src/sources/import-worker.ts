/** A worker thread of a records import: packs the batches it is sent (import-batch.ts) and sends them back. */
import { parentPort, workerData } from "node:worker_threads";
import { batchPacker, type BatchContext, type BatchInput } from "./import-batch";

const port = parentPort;
if (!port) throw new Error("import-worker runs as a worker thread");
const pack = batchPacker(workerData as BatchContext);
port.on("message", (message: { id: number; input: BatchInput }) => {
  const output = pack(message.input);
  // the packed rows change hands instead of being copied
  const { buffer } = output.packed;
  port.postMessage({ id: message.id, output }, buffer instanceof ArrayBuffer ? [buffer] : []);
});
