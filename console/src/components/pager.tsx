/** Paging a long list: where we are, and the pages before and after. */
import { num, t } from "../i18n";

export function Pager(props: { offset: number; limit: number; total: number; onPage: (offset: number) => void }) {
  const { offset, limit, total } = props;
  const last = Math.min(offset + limit, total);
  return (
    <nav class="pager" aria-label={t("pager.label")}>
      <button type="button" disabled={offset === 0} onClick={() => props.onPage(Math.max(0, offset - limit))}>
        {t("pager.previous")}
      </button>
      <span>{total === 0 ? t("pager.none") : t("pager.range", { first: num(offset + 1), last: num(last), total: num(total) })}</span>
      <button type="button" disabled={last >= total} onClick={() => props.onPage(offset + limit)}>
        {t("pager.next")}
      </button>
    </nav>
  );
}
