/** Gateway mode: the upstream and its limit, slots used per second, each team's spend against its budget, the cache, the unknown calls. */
import { useState } from "preact/hooks";
import { call } from "../api";
import { Chart, color } from "../components/chart";
import { ErrorNotice } from "../components/notice";
import { usePoll } from "../components/poll";
import { num, t, when } from "../i18n";
import { count, field, isRecord, list, text } from "../json";

function statusOf(answer: unknown) {
  const upstream = field(answer, "upstream");
  const limits = field(answer, "limits");
  const slots = field(answer, "slots");
  return {
    gateway: field(answer, "gateway") === true,
    upstream: isRecord(upstream)
      ? {
          url: text(upstream.url),
          secretId: text(upstream.secretId),
          publicKeys: text(upstream.publicKeys),
          companyKey: text(upstream.companyKey),
        }
      : undefined,
    ratePerSecond: count(field(limits, "ratePerSecond")),
    timeoutMs: count(field(limits, "timeoutMs")),
    cacheTtlSeconds: count(field(limits, "cacheTtlSeconds")),
    // the upstream slots this process took in each of the last 60 seconds, oldest first
    slots: list(field(slots, "perSecond")).map((s) => ({ at: Date.parse(text(field(s, "at"))) / 1000, used: count(field(s, "used")) })),
    month: text(field(answer, "month")),
    teams: list(field(answer, "teams")).map((team) => ({
      accountId: text(field(team, "accountId")),
      name: text(field(team, "name")),
      budget: text(field(team, "monthlyBudget")),
      spent: text(field(team, "spent")),
      left: text(field(team, "left")),
    })),
    hits: count(field(field(answer, "cache"), "hits")),
    misses: count(field(field(answer, "cache"), "misses")),
    unknownTotal: count(field(field(answer, "unknown"), "total")),
    unknown: list(field(field(answer, "unknown"), "latest")).map((u) => ({
      requestId: text(field(u, "requestId")),
      accountId: text(field(u, "accountId")),
      action: text(field(u, "action")),
      at: text(field(u, "at")),
      reason: text(field(u, "reason")),
    })),
  };
}

export function Gateway() {
  const [data, setData] = useState<ReturnType<typeof statusOf> | undefined>(undefined);
  // the slots move every second: the page follows them (and the spend) two seconds after each answer; with gateway
  // mode off there is nothing to follow
  const error = usePoll(
    async (wanted) => {
      const status = statusOf(await call("/gateway"));
      if (wanted()) setData(status);
    },
    2000,
    data?.gateway !== false,
    [],
  );
  const latest = data?.slots.at(-1);
  return (
    <section aria-busy={!data && !error}>
      <h1>{t("nav.gateway")}</h1>
      <ErrorNotice message={error} />
      {data && !data.gateway && <p>{t("gateway.off")}</p>}
      {data?.gateway && (
        <>
          <dl class="pairs">
            <div>
              <dt>{t("gateway.upstream")}</dt>
              <dd>{data.upstream?.url ?? "—"}</dd>
            </div>
            <div>
              <dt>{t("gateway.companyKey")}</dt>
              <dd>
                {data.upstream?.secretId ?? "—"} ({data.upstream?.companyKey ?? "—"})
              </dd>
            </div>
            <div>
              <dt>{t("gateway.publicKeys")}</dt>
              <dd>{data.upstream?.publicKeys ?? "—"}</dd>
            </div>
            <div>
              <dt>{t("gateway.limit")}</dt>
              <dd>{t("gateway.perSecond", { n: num(data.ratePerSecond) })}</dd>
            </div>
            <div>
              <dt>{t("gateway.slotsUsed")}</dt>
              <dd>{t("gateway.slotsOf", { used: num(latest?.used ?? 0), limit: num(data.ratePerSecond) })}</dd>
            </div>
            <div>
              <dt>{t("gateway.timeout")}</dt>
              <dd>{t("requests.ms", { ms: data.timeoutMs })}</dd>
            </div>
            <div>
              <dt>{t("gateway.cache")}</dt>
              <dd>{t("gateway.cacheValue", { hits: num(data.hits), misses: num(data.misses), ttl: data.cacheTtlSeconds })}</dd>
            </div>
          </dl>
          <h2>{t("gateway.slotsChart")}</h2>
          <Chart
            label={t("gateway.slotsChart")}
            height={160}
            times={data.slots.map((s) => s.at)}
            series={[
              { label: t("gateway.slotsUsedSeries"), values: data.slots.map((s) => s.used), color: color(0) },
              { label: t("gateway.limit"), values: data.slots.map(() => data.ratePerSecond), color: color(2) },
            ]}
          />
          <h2>{t("gateway.teams", { month: data.month })}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("accounts.name")}</th>
                <th scope="col">{t("gateway.budget")}</th>
                <th scope="col">{t("gateway.spent")}</th>
                <th scope="col">{t("gateway.left")}</th>
                <th scope="col">{t("gateway.share")}</th>
              </tr>
            </thead>
            <tbody>
              {data.teams.map((team) => {
                const budget = Number(team.budget);
                const spent = Number(team.spent);
                return (
                  <tr key={team.accountId}>
                    <th scope="row">{team.name}</th>
                    <td>{team.budget || t("gateway.noBudget")}</td>
                    <td>{team.spent}</td>
                    <td>{team.left || "—"}</td>
                    <td>
                      {budget > 0 ? (
                        <meter
                          min={0}
                          max={budget}
                          value={Math.min(spent, budget)}
                          aria-label={t("gateway.spendOf", { name: team.name })}
                        />
                      ) : (
                        "—"
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h2>{t("gateway.unknown", { n: num(data.unknownTotal) })}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("common.time")}</th>
                <th scope="col">{t("common.requestId")}</th>
                <th scope="col">{t("common.accountId")}</th>
                <th scope="col">{t("common.action")}</th>
                <th scope="col">{t("gateway.reason")}</th>
              </tr>
            </thead>
            <tbody>
              {data.unknown.map((u) => (
                <tr key={u.requestId}>
                  <td>{when(u.at)}</td>
                  <td>{u.requestId}</td>
                  <td>{u.accountId}</td>
                  <td>{u.action}</td>
                  <td>{u.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
