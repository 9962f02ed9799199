/**
 * Gateway mode at a glance: the upstream (never its key) and whether it took the company key, the limits it is
 * called under, each team's spend this China-time month against its budget, the cache's hits and misses, and the
 * calls whose outcome is unknown. Every count is made in the store.
 */
import { formatAmount } from "../common/money";
import { chinaMonth } from "../gateway/team-limits";
import { describeUpstream } from "../gateway/upstream-settings";
import type { Storage } from "../store/storage";
import { shownUnknown } from "./ledger";

export interface GatewaySettings {
  /** SANYAO_UPSTREAM_URL: in force over the stored URL */
  url: string | undefined;
  rateLimit: number;
  timeoutMs: number;
  cacheTtlMs: number;
}

export async function gatewayStatus(
  store: Storage,
  settings: GatewaySettings,
  /** the error code the upstream last refused the company key with, if its last answer was that */
  keyRefused: string | undefined,
  nowMs: number,
  /** the upstream slots this process took in each of the last seconds */
  slotUse: ReadonlyArray<{ at: string; used: number }> = [],
) {
  const stored = await describeUpstream(store.meta);
  const { month, startMs } = chinaMonth(nowMs);
  const [teams, cache, unknown] = await Promise.all([
    store.ledger.teamSpend(startMs),
    store.audit.cacheCounts(startMs),
    store.ledger.unknownPage({ offset: 0, limit: 5 }),
  ]);
  return {
    gateway: stored !== undefined,
    upstream: stored
      ? {
          url: settings.url ?? stored.url,
          secretId: stored.secretId,
          publicKeys: stored.publicKeys,
          companyKey: keyRefused === undefined ? "accepted or not tried yet" : `refused (${keyRefused})`,
        }
      : null,
    limits: { ratePerSecond: settings.rateLimit, timeoutMs: settings.timeoutMs, cacheTtlSeconds: Math.round(settings.cacheTtlMs / 1000) },
    month,
    teams: teams.map((t) => ({
      accountId: t.accountId,
      name: t.name,
      monthlyBudget: t.monthlyBudget > 0 ? formatAmount(t.monthlyBudget) : null,
      spent: formatAmount(t.spent),
      left: t.monthlyBudget > 0 ? formatAmount(t.monthlyBudget - t.spent) : null,
    })),
    slots: { perSecond: slotUse },
    cache,
    unknown: { total: unknown.total, latest: unknown.rows.map(shownUnknown) },
  };
}
