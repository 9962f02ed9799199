/** Memory available to this process: the machine's, or a container's limit where Node knows it. */
import os from "node:os";

export function availableMemory(): number {
  const limited = "availableMemory" in process && typeof process.availableMemory === "function" ? process.availableMemory() : Infinity;
  return Math.min(os.freemem(), limited);
}
