/**
 * Preloaded (`--require`) into the `sanyao records import` that `npm run bench:import` measures: when the process
 * exits it writes its own CPU time and peak RSS, every thread included, to the file SANYAO_BENCH_USAGE names.
 */
import fs from "node:fs";

const file = process.env.SANYAO_BENCH_USAGE;
if (file) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    fs.writeFileSync(
      file,
      JSON.stringify({ cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, peakRssMiB: usage.maxRSS / 1024 }),
    );
  });
}
