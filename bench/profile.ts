/** Summarises a V8 .cpuprofile: self time by function and by file, to say where a request's time goes. */
import fs from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function summariseProfile(file: string, top = 20): string[] {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[] };
  const total = profile.samples.length;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const node of profile.nodes) {
    const hits = counts.get(node.id) ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : "(native)";
    const fn = `${functionName || "(anonymous)"} ${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
    const area = !url
      ? functionName.startsWith("(")
        ? functionName
        : "(native)"
      : url.includes("/dist/src/")
        ? `sanyao ${url.split("/dist/src/")[1]!.split("/")[0]}`
        : url.includes("node_modules/")
          ? url.split("node_modules/")[1]!.split("/")[0]!
          : url.startsWith("node:")
            ? url.split("/")[0]!
            : "other";
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
  }
  const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)} %`;
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    "self time by area:",
    ...sorted(byArea).map(([k, v]) => `  ${pct(v)}  ${k}`),
    "self time by function:",
    ...sorted(byFunction).map(([k, v]) => `  ${pct(v)}  ${k}`),
  ];
}
