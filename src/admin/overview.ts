/**
 * The overview of an installation: per action, calls, charged calls, money, errors and refusals over the last hour,
 * day or 30 days, as totals and as a series; latency p50/p99 from a histogram of latency classes. Every count is
 * made in the store (overview-rollup.ts: the hourly rollup, and indexes on time); this file only shapes them. Test keys'
 * calls and charges are left out (usage shows them with test=true).
 */
import { ERRORS } from "../api3/errors";
import { formatAmount } from "../common/money";
import { LATENCY_CLASSES_PER_E, type OverviewRange } from "../store/ports";
import type { OverviewRollup } from "./overview-rollup";

export const OVERVIEW_WINDOWS = ["hour", "day", "30d"] as const;
export type OverviewWindow = (typeof OVERVIEW_WINDOWS)[number];

/** Refused before the work: the account's rate limit, or no money left (as usage counts them). */
export const REFUSAL_CODES: ReadonlySet<string> = new Set(["RequestLimitExceeded", "UnauthorizedOperation.Arrears"]);

const CHINA_OFFSET_MS = 8 * 3_600_000;

const WINDOWS: Readonly<Record<OverviewWindow, { bucketMs: number; buckets: number; offsetMs: number }>> = {
  hour: { bucketMs: 60_000, buckets: 60, offsetMs: 0 },
  day: { bucketMs: 3_600_000, buckets: 24, offsetMs: 0 },
  // days as China-time calendar days, like usage and the daily caps
  "30d": { bucketMs: 86_400_000, buckets: 30, offsetMs: CHINA_OFFSET_MS },
};

/** The window's range: whole buckets, the last one holding now. */
export function overviewRange(window: OverviewWindow, nowMs: number): OverviewRange {
  const { bucketMs, buckets, offsetMs } = WINDOWS[window];
  const toMs = (Math.floor((nowMs + offsetMs) / bucketMs) + 1) * bucketMs - offsetMs;
  const fromMs = toMs - buckets * bucketMs;
  return { originMs: fromMs, fromMs, toMs, bucketMs };
}

/** An answer code that is an error (API 3.0's, or the test kit's reset and hang), not a Result or OK. */
export function isErrorCode(code: string): boolean {
  return code in ERRORS || code === "reset" || code === "hang" || /^[A-Za-z]+\.[A-Za-z]/.test(code);
}

interface Counts {
  calls: number;
  charged: number;
  amount: number;
  errors: number;
  refusals: number;
}
const zero = (): Counts => ({ calls: 0, charged: 0, amount: 0, errors: 0, refusals: 0 });

/** The latency below which a share `q` of the calls fall, in ms, from the classes' counts. */
function percentile(classes: ReadonlyArray<{ latencyClass: number; n: number }>, total: number, q: number): number {
  const sorted = [...classes].sort((a, b) => a.latencyClass - b.latencyClass);
  let seen = 0;
  for (const c of sorted) {
    seen += c.n;
    if (seen >= q * total) return Math.round((Math.exp((c.latencyClass + 0.5) / LATENCY_CLASSES_PER_E) - 1) / 100) / 10;
  }
  return 0;
}

export async function overview(rollup: OverviewRollup, window: OverviewWindow, nowMs: number) {
  const range = overviewRange(window, nowMs);
  const { calls, charges, latencies } = await rollup.counts(range);
  const byAction = new Map<string, Counts>();
  const buckets = Array.from({ length: (range.toMs - range.fromMs) / range.bucketMs }, zero);
  const add = (action: string, bucket: number, part: Partial<Counts>) => {
    let a = byAction.get(action);
    if (!a) {
      a = zero();
      byAction.set(action, a);
    }
    // SQLite divides by a bound number as REAL (10.002 for the 11th bucket): the bucket is its whole part
    const b = buckets[Math.floor(bucket)];
    for (const [name, n] of Object.entries(part) as Array<[keyof Counts, number]>) {
      a[name] += n;
      if (b) b[name] += n;
    }
  };
  for (const c of calls) {
    const refused = REFUSAL_CODES.has(c.code);
    add(c.action, c.bucket, { calls: c.n, refusals: refused ? c.n : 0, errors: !refused && isErrorCode(c.code) ? c.n : 0 });
  }
  for (const c of charges) add(c.action, c.bucket, { charged: c.n, amount: c.amount });
  const total = latencies.reduce((sum, c) => sum + c.n, 0);
  return {
    window,
    from: new Date(range.fromMs).toISOString(),
    to: new Date(range.toMs).toISOString(),
    bucketMs: range.bucketMs,
    actions: [...byAction].sort(([a], [b]) => a.localeCompare(b)).map(([action, c]) => ({ action, ...c, amount: formatAmount(c.amount) })),
    series: buckets.map((b, i) => ({
      at: new Date(range.fromMs + i * range.bucketMs).toISOString(),
      calls: b.calls,
      charged: b.charged,
      amount: formatAmount(b.amount),
      errors: b.errors,
      refusals: b.refusals,
    })),
    latency: total === 0 ? null : { p50Ms: percentile(latencies, total, 0.5), p99Ms: percentile(latencies, total, 0.99) },
  };
}
