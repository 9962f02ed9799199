/** The subscriber records, counted by carrier and status in the store: counts only, never a value or a hash. */
import type { Storage } from "../store/storage";

/** The carrier as shown: "unknown" for a number whose segment names none. */
const carrierName = (carrier: string) => carrier || "unknown";

export async function recordStats(store: Storage) {
  const counts = await store.records.stats();
  const byStatus: Record<string, number> = {};
  const byCarrier: Record<string, number> = {};
  let total = 0;
  for (const { carrier, status, n } of counts) {
    total += n;
    byStatus[status] = (byStatus[status] ?? 0) + n;
    byCarrier[carrierName(carrier)] = (byCarrier[carrierName(carrier)] ?? 0) + n;
  }
  return { total, byStatus, byCarrier, counts: counts.map((c) => ({ ...c, carrier: carrierName(c.carrier) })) };
}
