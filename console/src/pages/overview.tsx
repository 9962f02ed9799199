/** Overview: calls, charges, errors and refusals for the last hour, day or 30 days; latency; the gateway; background failures. */
import { useState } from "preact/hooks";
import { call } from "../api";
import { Chart, color } from "../components/chart";
import { useLoad } from "../components/load";
import { ErrorNotice } from "../components/notice";
import { type Key, num, t, when } from "../i18n";
import { count, field, isRecord, list, optionalCount, text } from "../json";

type Period = "hour" | "day" | "30d";
const WINDOWS: ReadonlyArray<[Period, Key]> = [
  ["hour", "overview.hour"],
  ["day", "overview.day"],
  ["30d", "overview.month"],
];

/** the gateway fields the server names today, in words; another one shows by its own name */
const GATEWAY_NAMES: Partial<Record<string, Key>> = {
  upstream: "gateway.upstream",
  state: "overview.gatewayState",
  keyRefused: "overview.keyRefused",
};

interface Overview {
  actions: Array<{ action: string; calls: number; charged: number; amount: string; errors: number; refusals: number }>;
  times: number[];
  calls: number[];
  charged: number[];
  errors: number[];
  refusals: number[];
  latency: { p50: number; p99: number } | undefined;
  gateway: Array<[string, string]> | undefined;
  failures: Array<{ at: string; what: string }>;
}

function overviewOf(answer: unknown): Overview {
  const series = list(field(answer, "series"));
  const column = (name: string) => series.map((point) => count(field(point, name)));
  const latency = field(answer, "latency");
  const gateway = field(answer, "gateway");
  return {
    actions: list(field(answer, "actions")).map((row) => ({
      action: text(field(row, "action")),
      calls: count(field(row, "calls")),
      charged: count(field(row, "charged")),
      amount: text(field(row, "amount")),
      errors: count(field(row, "errors")),
      refusals: count(field(row, "refusals")),
    })),
    times: series.map((point) => Date.parse(text(field(point, "at"))) / 1000),
    calls: column("calls"),
    charged: column("charged"),
    errors: column("errors"),
    refusals: column("refusals"),
    latency: isRecord(latency) ? { p50: count(latency.p50Ms), p99: count(latency.p99Ms) } : undefined,
    // the gateway's state as the server words it: each field shown as it comes (text and numbers only)
    gateway: isRecord(gateway)
      ? Object.entries(gateway).flatMap(([k, v]) =>
          typeof v === "string" || optionalCount(v) !== undefined ? [[k, String(v)] as [string, string]] : [],
        )
      : undefined,
    failures: list(field(answer, "backgroundFailures")).map((f) => ({ at: text(field(f, "at")), what: text(field(f, "what")) })),
  };
}

export function Overview() {
  const [period, setPeriod] = useState<Period>("hour");
  const { data, error } = useLoad(async () => overviewOf(await call(`/overview?window=${period}`)), [period]);
  const total = (pick: (row: Overview["actions"][number]) => number) => (data?.actions ?? []).reduce((sum, row) => sum + pick(row), 0);
  return (
    <section aria-busy={!data && !error}>
      <h1>{t("nav.overview")}</h1>
      <fieldset class="tabs">
        <legend>{t("overview.window")}</legend>
        {WINDOWS.map(([value, name]) => (
          <button key={value} type="button" aria-pressed={period === value} onClick={() => setPeriod(value)}>
            {t(name)}
          </button>
        ))}
      </fieldset>
      <ErrorNotice message={error} />
      {data && (
        <>
          <dl class="figures">
            <div>
              <dt>{t("overview.calls")}</dt>
              <dd>{num(total((r) => r.calls))}</dd>
            </div>
            <div>
              <dt>{t("overview.charged")}</dt>
              <dd>{num(total((r) => r.charged))}</dd>
            </div>
            <div>
              <dt>{t("overview.errors")}</dt>
              <dd>{num(total((r) => r.errors))}</dd>
            </div>
            <div>
              <dt>{t("overview.refusals")}</dt>
              <dd>{num(total((r) => r.refusals))}</dd>
            </div>
            <div>
              <dt>{t("overview.latency")}</dt>
              <dd>{data.latency ? t("overview.latencyValue", { p50: data.latency.p50, p99: data.latency.p99 }) : t("common.none")}</dd>
            </div>
          </dl>
          <Chart
            label={t("overview.chart")}
            times={data.times}
            series={[
              { label: t("overview.calls"), values: data.calls, color: color(0) },
              { label: t("overview.charged"), values: data.charged, color: color(1) },
              { label: t("overview.errors"), values: data.errors, color: color(2) },
              { label: t("overview.refusals"), values: data.refusals, color: color(3) },
            ]}
          />
          <h2>{t("overview.perAction")}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("common.action")}</th>
                <th scope="col">{t("overview.calls")}</th>
                <th scope="col">{t("overview.charged")}</th>
                <th scope="col">{t("common.amount")}</th>
                <th scope="col">{t("overview.errors")}</th>
                <th scope="col">{t("overview.refusals")}</th>
              </tr>
            </thead>
            <tbody>
              {data.actions.length === 0 && (
                <tr>
                  <td colSpan={6}>{t("overview.noCalls")}</td>
                </tr>
              )}
              {data.actions.map((row) => (
                <tr key={row.action}>
                  <th scope="row">{row.action}</th>
                  <td>{num(row.calls)}</td>
                  <td>{num(row.charged)}</td>
                  <td>{row.amount}</td>
                  <td>{num(row.errors)}</td>
                  <td>{num(row.refusals)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>{t("overview.gateway")}</h2>
          {data.gateway ? (
            <dl class="pairs">
              {data.gateway.map(([name, value]) => (
                <div key={name}>
                  <dt>{GATEWAY_NAMES[name] ? t(GATEWAY_NAMES[name]) : name}</dt>
                  <dd>{value}</dd>
                </div>
              ))}
            </dl>
          ) : (
            <p>{t("overview.noGateway")}</p>
          )}
          <h2>{t("overview.failures")}</h2>
          {data.failures.length === 0 ? (
            <p>{t("overview.noFailures")}</p>
          ) : (
            <ul>
              {data.failures.map((f, i) => (
                <li key={i}>
                  <time dateTime={f.at}>{when(f.at)}</time> {f.what}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
