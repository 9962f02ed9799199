/** Usage: calls, charges and amounts per account, day, action and mode, as a chart and a table, and as CSV. */
import { useState } from "preact/hooks";
import { API, call, query } from "../api";
import { Chart, color } from "../components/chart";
import { useLoad } from "../components/load";
import { ErrorNotice } from "../components/notice";
import { Pager } from "../components/pager";
import { num, t } from "../i18n";
import { count, field, list, text } from "../json";

interface Row {
  accountId: string;
  day: string;
  action: string;
  mode: string;
  calls: number;
  charged: number;
  amount: string;
  cached: number;
  refused: number;
}

const rowOf = (r: unknown): Row => ({
  accountId: text(field(r, "accountId")),
  day: text(field(r, "day")),
  action: text(field(r, "action")),
  mode: text(field(r, "mode")),
  calls: count(field(r, "calls")),
  charged: count(field(r, "charged")),
  amount: text(field(r, "amount")),
  cached: count(field(r, "cached")),
  refused: count(field(r, "refused")),
});

/** per China-time day, summed over accounts and actions: the chart's points (noon of each day, China time) */
function perDay(rows: Row[]) {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const sum = (day: string, pick: (r: Row) => number) => rows.filter((r) => r.day === day).reduce((s, r) => s + pick(r), 0);
  return {
    times: days.map((d) => Date.parse(`${d}T12:00:00+08:00`) / 1000),
    calls: days.map((d) => sum(d, (r) => r.calls)),
    charged: days.map((d) => sum(d, (r) => r.charged)),
    cached: days.map((d) => sum(d, (r) => r.cached)),
    refused: days.map((d) => sum(d, (r) => r.refused)),
  };
}

/** rows of the table a page: a big installation has tens of thousands in a month, too many to draw at once */
const ROWS_SHOWN = 100;

/** today's China-time date (UTC+8, no daylight saving), as the API's `from` and `to` take it */
const chinaToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

export function Usage() {
  // Today by default: every account's month is tens of thousands of rows on a big installation (seconds to count
  // and draw); a longer range is one choice away.
  const [filters, setFilters] = useState(() => ({ account: "", from: chinaToday(), to: chinaToday(), test: false }));
  const [offset, setOffset] = useState(0);
  const set = (change: Partial<typeof filters>) => {
    setFilters({ ...filters, ...change });
    setOffset(0);
  };
  const gateway = useLoad(async () => field(await call("/gateway"), "gateway") === true, []);
  const q = { account: filters.account.trim(), from: filters.from, to: filters.to, test: filters.test };
  const { data, error } = useLoad(async () => {
    const answer = await call(`/usage${query(q)}`);
    const totals = field(answer, "totals");
    return {
      rows: list(field(answer, "rows")).map(rowOf),
      totals: { calls: count(field(totals, "calls")), charged: count(field(totals, "charged")), amount: text(field(totals, "amount")) },
    };
  }, [q.account, q.from, q.to, q.test]);
  const inGateway = gateway.data === true;
  const days = perDay(data?.rows ?? []);
  return (
    <section aria-busy={!data && !error}>
      <h1>{t("nav.usage")}</h1>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("common.accountId")}
          <input value={filters.account} onChange={(e) => set({ account: e.currentTarget.value })} />
        </label>
        <label>
          {t("usage.from")}
          <input type="date" value={filters.from} onInput={(e) => set({ from: e.currentTarget.value })} />
        </label>
        <label>
          {t("usage.to")}
          <input type="date" value={filters.to} onInput={(e) => set({ to: e.currentTarget.value })} />
        </label>
        <label class="check">
          <input type="checkbox" checked={filters.test} onChange={(e) => set({ test: e.currentTarget.checked })} />
          {t("usage.testLedger")}
        </label>
        <a class="button" href={`${API}/usage${query({ ...q, format: "csv" })}`} download>
          {t("common.exportCsv")}
        </a>
      </form>
      <ErrorNotice message={error ?? gateway.error} />
      {data && (
        <>
          <Chart
            label={t("usage.chart")}
            times={days.times}
            series={[
              { label: t("overview.calls"), values: days.calls, color: color(0) },
              { label: t("overview.charged"), values: days.charged, color: color(1) },
              ...(inGateway
                ? [
                    { label: t("usage.cached"), values: days.cached, color: color(4) },
                    { label: t("usage.refused"), values: days.refused, color: color(2) },
                  ]
                : []),
            ]}
          />
          <p>{t("usage.totals", { calls: num(data.totals.calls), charged: num(data.totals.charged), amount: data.totals.amount })}</p>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("common.accountId")}</th>
                <th scope="col">{t("common.day")}</th>
                <th scope="col">{t("common.action")}</th>
                <th scope="col">{t("account.mode")}</th>
                <th scope="col">{t("overview.calls")}</th>
                <th scope="col">{t("overview.charged")}</th>
                <th scope="col">{t("common.amount")}</th>
                {inGateway && <th scope="col">{t("usage.cached")}</th>}
                {inGateway && <th scope="col">{t("usage.refused")}</th>}
              </tr>
            </thead>
            <tbody>
              {data.rows.length === 0 && (
                <tr>
                  <td colSpan={inGateway ? 9 : 7}>{t("usage.none")}</td>
                </tr>
              )}
              {data.rows.slice(offset, offset + ROWS_SHOWN).map((r) => (
                <tr key={`${r.accountId}/${r.day}/${r.action}/${r.mode}`}>
                  <td>{r.accountId}</td>
                  <td>{r.day}</td>
                  <td>{r.action}</td>
                  <td>{r.mode}</td>
                  <td>{num(r.calls)}</td>
                  <td>{num(r.charged)}</td>
                  <td>{r.amount}</td>
                  {inGateway && <td>{num(r.cached)}</td>}
                  {inGateway && <td>{num(r.refused)}</td>}
                </tr>
              ))}
            </tbody>
          </table>
          {data.rows.length > ROWS_SHOWN && <Pager offset={offset} limit={ROWS_SHOWN} total={data.rows.length} onPage={setOffset} />}
        </>
      )}
    </section>
  );
}
