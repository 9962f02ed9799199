/**
 * The request log, live: asked a second after each answer for the calls after the newest one shown (`after`), so a
 * new call shows within a second or two without a reload (slower after errors, not at all in a hidden tab). Filtered
 * by account, key, action and result on the server.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { call, query } from "../api";
import { ACTIONS } from "../accounts";
import { Link } from "../components/link";
import { ErrorNotice } from "../components/notice";
import { usePoll } from "../components/poll";
import { t, when } from "../i18n";
import { field, list, optionalCount } from "../json";
import { type LoggedCall, loggedCallOf } from "../requests";

const POLL_MS = 1000;
const KEEP = 500;

export const outcomeOf = (c: LoggedCall): string => c.error ?? c.result ?? t("requests.ok");

export function Requests() {
  const [filters, setFilters] = useState({ account: "", secretId: "", action: "", result: "" });
  const [calls, setCalls] = useState<LoggedCall[]>([]);
  const [live, setLive] = useState(true);
  // busy until the first answer for these filters (a screen reader, and the tests, wait for it)
  const [answered, setAnswered] = useState(false);
  const lastSeq = useRef<number | undefined>(undefined);
  const shownFor = useRef<string | undefined>(undefined);
  const set = (change: Partial<typeof filters>) => setFilters({ ...filters, ...change });
  const filterKey = JSON.stringify(filters);

  // other filters: start again; a pause keeps what is shown, and resuming asks for what came meanwhile
  // (declared before the poll, so it runs first)
  useEffect(() => {
    if (shownFor.current === filterKey) return;
    shownFor.current = filterKey;
    lastSeq.current = undefined;
    setCalls([]);
    setAnswered(false);
  }, [filterKey]);
  const error = usePoll(
    async (wanted) => {
      try {
        const after = lastSeq.current;
        const answer = await call(
          `/requests${query({
            limit: after === undefined ? 200 : undefined,
            account: filters.account.trim(),
            secretId: filters.secretId.trim(),
            action: filters.action,
            result: filters.result.trim(),
            after,
          })}`,
        );
        if (!wanted()) return;
        const fresh = list(field(answer, "requests")).map(loggedCallOf).reverse(); // newest first
        if (fresh.length > 0) setCalls((shown) => [...fresh, ...shown].slice(0, KEEP));
        lastSeq.current = optionalCount(field(answer, "lastSeq")) ?? lastSeq.current;
      } finally {
        if (wanted()) setAnswered(true);
      }
    },
    POLL_MS,
    live,
    [filterKey],
  );

  return (
    <section aria-busy={live && !answered}>
      <h1>{t("nav.requests")}</h1>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("common.accountId")}
          <input value={filters.account} onChange={(e) => set({ account: e.currentTarget.value })} />
        </label>
        <label>
          {t("common.secretId")}
          <input value={filters.secretId} onChange={(e) => set({ secretId: e.currentTarget.value })} />
        </label>
        <label>
          {t("common.action")}
          <select aria-label={t("common.action")} value={filters.action} onChange={(e) => set({ action: e.currentTarget.value })}>
            <option value="">{t("common.all")}</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("requests.result")}
          <input value={filters.result} onChange={(e) => set({ result: e.currentTarget.value })} />
        </label>
        <button type="button" onClick={() => setLive(!live)}>
          {live ? t("requests.pause") : t("requests.resume")}
        </button>
      </form>
      <p class="muted" role="status">
        {live ? t("requests.live") : t("requests.paused")}
      </p>
      <ErrorNotice message={error} />
      <table>
        <caption>{t("requests.caption")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("common.time")}</th>
            <th scope="col">{t("common.requestId")}</th>
            <th scope="col">{t("common.accountId")}</th>
            <th scope="col">{t("common.secretId")}</th>
            <th scope="col">{t("common.action")}</th>
            <th scope="col">{t("requests.result")}</th>
            <th scope="col">{t("requests.charged")}</th>
            <th scope="col">{t("requests.latency")}</th>
          </tr>
        </thead>
        <tbody>
          {calls.length === 0 && (
            <tr>
              <td colSpan={8}>{t("requests.none")}</td>
            </tr>
          )}
          {calls.map((c) => (
            <tr key={c.requestId}>
              <td>{when(c.at)}</td>
              <td>
                <Link to={`requests/${c.requestId}`}>{c.requestId}</Link>
              </td>
              <td>{c.accountId}</td>
              <td>{c.secretId}</td>
              <td>{c.action}</td>
              <td>{outcomeOf(c)}</td>
              <td>{c.billable ? t("common.yes") : t("common.no")}</td>
              <td>{t("requests.ms", { ms: c.latencyMs })}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
