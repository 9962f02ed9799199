/**
 * What Id2Meta's partial md5 tables cost (src/cloudauth/partial-md5.ts): the time to build them on the first partial
 * call, the heap they hold, the longest the event loop waited meanwhile, and a lookup's time. Run in a fresh process.
 *
 *   npm run bench:partial-md5
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import os from "node:os";
import { partialMd5Tables, plainFields } from "../src/cloudauth/partial-md5";

const heapMb = (): number => {
  global.gc?.();
  return process.memoryUsage().heapUsed / 1e6;
};

async function main(): Promise<void> {
  const before = heapMb();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const tables = await partialMd5Tables();
  const buildMs = performance.now() - started;
  delay.disable();
  const held = heapMb() - before;
  const lookups = 10_000;
  const t0 = performance.now();
  for (let i = 0; i < lookups; i++) await plainFields("110105644597e2f56d339c8fdac3a9f837194b2143", "6499fc7409049355527ef6a2ba5706b8三");
  const lookupUs = ((performance.now() - t0) * 1000) / lookups;
  console.log(
    JSON.stringify({
      machine: `${os.cpus()[0]?.model ?? "?"} ×${os.cpus().length}, Node ${process.version}`,
      birthDates: tables.birthDates.size,
      firstCharacters: tables.firstCharacters.size,
      buildMs: Math.round(buildMs),
      heapMb: global.gc ? Number(held.toFixed(1)) : "run with --expose-gc",
      longestEventLoopWaitMs: Math.round(delay.max / 1e6),
      lookupUs: Number(lookupUs.toFixed(1)),
    }),
  );
}

void main();
