/**
 * Subscriber records: counts by status and carrier (never a value), and a CSV import from the browser. The file goes
 * to the server as it is; the server reads it, refuses it whole naming the bad line, and reports its progress.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { call, messageOf, upload } from "../api";
import { useLoad } from "../components/load";
import { DoneNotice, ErrorNotice } from "../components/notice";
import { num, t } from "../i18n";
import { count, counts, field, list, text } from "../json";

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
  // the upload first, then the server's reading of the file: one bar, named by its phase
  const [progress, setProgress] = useState<{ phase: "upload" | "import"; read: number; total: number } | undefined>(undefined);
  const [rejections, setRejections] = useState<Array<{ line: number; reason: string }>>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  // the job is followed while this page is shown; leaving it stops the asking (the import goes on on the server)
  const shown = useRef(true);
  useEffect(
    () => () => {
      shown.current = false;
    },
    [],
  );
  const follow = async (id: string) => {
    for (;;) {
      const job = field(await call(`/records/imports/${encodeURIComponent(id)}`), "import");
      if (!shown.current) return;
      setProgress({ phase: "import", read: count(field(job, "bytesRead")), total: count(field(job, "bytesTotal")) });
      const state = text(field(job, "state"));
      if (state === "done") {
        setDone(
          t("records.imported", {
            imported: num(count(field(job, "imported"))),
            replaced: num(count(field(job, "replaced"))),
            rejected: num(count(field(job, "rejected"))),
          }),
        );
        setRejections(list(field(job, "rejections")).map((r) => ({ line: count(field(r, "line")), reason: text(field(r, "reason")) })));
        props.onDone();
        return;
      }
      if (state === "failed") {
        setError(t("records.failed", { message: text(field(field(job, "error"), "message")) }));
        return;
      }
      if (state === "refused") {
        const why = field(job, "error");
        setError(t("records.refused", { line: count(field(why, "line")), message: text(field(why, "message")) }));
        return;
      }
      if (state !== "running") {
        // a state this console does not know: say so, rather than ask forever
        setError(t("records.unknownState", { state }));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!shown.current) return;
    }
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setError(undefined);
    setDone(undefined);
    setRejections([]);
    setProgress({ phase: "upload", read: 0, total: file.size });
    try {
      // NDJSON too, as the CLI takes it: told by the file's name
      const type = /\.(ndjson|jsonl)$/i.test(file.name) ? "application/x-ndjson" : "text/csv";
      const answer = await upload("/records/imports", file, type, (sent, total) => setProgress({ phase: "upload", read: sent, total }));
      const job = field(answer, "import");
      await follow(text(field(job, "id")));
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <form class="grid" aria-labelledby="records-import" onSubmit={submit}>
      <h2 id="records-import">{t("records.import")}</h2>
      <p>{t("records.importHint")}</p>
      <label>
        {t("records.file")}
        <input type="file" accept=".csv,.ndjson,.jsonl,text/csv" required onChange={(e) => setFile(e.currentTarget.files?.[0])} />
      </label>
      <button type="submit" disabled={!file}>
        {t("records.importButton")}
      </button>
      {progress && (
        <label>
          {progress.phase === "upload" ? t("records.uploading") : t("records.progress")}
          <progress max={Math.max(progress.total, 1)} value={progress.read} />
        </label>
      )}
      <ErrorNotice message={error} />
      <DoneNotice message={done} />
      {rejections.length > 0 && (
        <ul aria-label={t("records.rejections")}>
          {rejections.map((r) => (
            <li key={r.line}>{t("records.rejection", { line: r.line, reason: r.reason })}</li>
          ))}
        </ul>
      )}
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
    <section aria-busy={!data && !error}>
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
