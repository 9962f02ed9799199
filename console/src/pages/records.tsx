/**
 * Subscriber records: counts by status and carrier (never a value), and a CSV import from the browser. The file goes
 * to the server as it is; the server reads it, refuses it whole naming the bad line, and reports its progress.
 */
import { useState } from "preact/hooks";
import { call } from "../api";
import { useLoad } from "../components/load";
import { DoneNotice, ErrorNotice } from "../components/notice";
import { num, t } from "../i18n";
import { count, counts, field, text } from "../json";

function CountTable(props: { caption: string; rows: Array<[string, number]> }) {
  return (
    <table>
      <caption>{props.caption}</caption>
      <tbody>
        {props.rows.map(([name, n]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{num(n)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const POLL_MS = 300;

function Import(props: { onDone: () => void }) {
  const [file, setFile] = useState<File | undefined>(undefined);
  const [progress, setProgress] = useState<{ read: number; total: number } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const follow = async (id: string) => {
    for (;;) {
      const job = field(await call(`/records/imports/${encodeURIComponent(id)}`), "import");
      setProgress({ read: count(field(job, "bytesRead")), total: count(field(job, "bytesTotal")) });
      const state = text(field(job, "state"));
      if (state === "done") {
        setDone(
          t("records.imported", {
            imported: num(count(field(job, "imported"))),
            replaced: num(count(field(job, "replaced"))),
            rejected: num(count(field(job, "rejected"))),
          }),
        );
        props.onDone();
        return;
      }
      if (state === "refused") {
        const why = field(job, "error");
        setError(t("records.refused", { line: count(field(why, "line")), message: text(field(why, "message")) }));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setError(undefined);
    setDone(undefined);
    setProgress({ read: 0, total: file.size });
    try {
      const job = field(await call("/records/imports", { method: "POST", raw: { data: file, type: "text/csv" } }), "import");
      await follow(text(field(job, "id")));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form class="grid" aria-labelledby="records-import" onSubmit={submit}>
      <h2 id="records-import">{t("records.import")}</h2>
      <p>{t("records.importHint")}</p>
      <label>
        {t("records.file")}
        <input type="file" accept=".csv,text/csv" required onChange={(e) => setFile(e.currentTarget.files?.[0])} />
      </label>
      <button type="submit" disabled={!file}>
        {t("records.importButton")}
      </button>
      {progress && (
        <label>
          {t("records.progress")}
          <progress max={Math.max(progress.total, 1)} value={progress.read} />
        </label>
      )}
      <ErrorNotice message={error} />
      <DoneNotice message={done} />
    </form>
  );
}

export function Records(props: { canChange: boolean }) {
  const { data, error, reload } = useLoad(async () => {
    const answer = await call("/records/stats");
    return {
      total: count(field(answer, "total")),
      byStatus: counts(field(answer, "byStatus")),
      byCarrier: counts(field(answer, "byCarrier")),
    };
  }, []);
  return (
    <section>
      <h1>{t("nav.records")}</h1>
      <ErrorNotice message={error} />
      {data && (
        <>
          <p>{t("records.total", { n: num(data.total) })}</p>
          <div class="columns">
            <CountTable caption={t("records.byStatus")} rows={data.byStatus} />
            <CountTable caption={t("records.byCarrier")} rows={data.byCarrier} />
          </div>
        </>
      )}
      {props.canChange && <Import onDone={reload} />}
    </section>
  );
}
