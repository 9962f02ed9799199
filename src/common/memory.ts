/** Memory available to this process: the machine's, or a container's limit where Node knows it. */
import os from "node:os";

export function availableMemory(): number {
  // process.availableMemory came in Node 20.13; before it, a container's limit less this process's own use
  const limited =
    "availableMemory" in process && typeof process.availableMemory === "function"
      ? process.availableMemory()
      : (process.constrainedMemory?.() || Infinity) - process.memoryUsage.rss();
  return Math.min(os.freemem(), limited);
}
