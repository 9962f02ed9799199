/**
 * One call, at its own URL: what was sent (parameter names, never values), the answer, the charge, the scenario
 * that took it, and for a refused signature the server's diagnosis (every value in it a keyed hash).
 */
import { call } from "../api";
import { Link } from "../components/link";
import { useLoad } from "../components/load";
import { ErrorNotice } from "../components/notice";
import { t, when } from "../i18n";
import { count, field, isRecord, optionalCount, text, texts } from "../json";
import { loggedCallOf } from "../requests";
import { outcomeOf } from "./requests";

interface Diagnosis {
  code: string;
  signatureMethod: string;
  secretId: string;
  serverTime: string;
  offsetSeconds: number | undefined;
  windowSeconds: number;
  expectedScope: string;
  receivedScope: string;
  signedHeaders: string[];
  hostsTried: string[];
  canonicalRequest: string;
  stringToSign: string;
  likelyCauses: string[];
}

function diagnosisOf(d: unknown): Diagnosis | undefined {
  if (!isRecord(d)) return undefined;
  const clock = field(d, "clock");
  return {
    code: text(d.code),
    signatureMethod: text(d.signatureMethod),
    secretId: text(d.secretId),
    serverTime: text(field(clock, "serverTime")),
    offsetSeconds: optionalCount(field(clock, "offsetSeconds")),
    windowSeconds: count(field(clock, "windowSeconds")),
    expectedScope: text(d.expectedScope),
    receivedScope: text(d.receivedScope),
    signedHeaders: texts(d.signedHeaders),
    hostsTried: texts(d.hostsTried),
    canonicalRequest: text(d.canonicalRequest),
    stringToSign: text(d.stringToSign),
    likelyCauses: texts(d.likelyCauses),
  };
}

function Pair(props: { name: string; value: string }) {
  return (
    <div>
      <dt>{props.name}</dt>
      <dd>{props.value || "—"}</dd>
    </div>
  );
}

function DiagnosisView(props: { diagnosis: Diagnosis }) {
  const d = props.diagnosis;
  return (
    <section aria-labelledby="diagnosis">
      <h2 id="diagnosis">{t("request.diagnosis")}</h2>
      <h3>{t("request.likelyCauses")}</h3>
      <ol>
        {d.likelyCauses.map((cause) => (
          <li key={cause}>{cause}</li>
        ))}
      </ol>
      <dl class="pairs">
        <Pair name={t("request.code")} value={d.code} />
        <Pair name={t("request.signatureMethod")} value={d.signatureMethod} />
        <Pair name={t("common.secretId")} value={d.secretId} />
        <Pair name={t("request.serverTime")} value={d.serverTime && when(d.serverTime)} />
        <Pair name={t("request.offset")} value={d.offsetSeconds === undefined ? "" : t("request.seconds", { n: d.offsetSeconds })} />
        <Pair name={t("request.window")} value={t("request.seconds", { n: d.windowSeconds })} />
        <Pair name={t("request.expectedScope")} value={d.expectedScope} />
        <Pair name={t("request.receivedScope")} value={d.receivedScope} />
        <Pair name={t("request.signedHeaders")} value={d.signedHeaders.join(", ")} />
        <Pair name={t("request.hostsTried")} value={d.hostsTried.join(", ")} />
      </dl>
      {d.canonicalRequest && (
        <>
          <h3>{t("request.canonicalRequest")}</h3>
          <pre>{d.canonicalRequest}</pre>
        </>
      )}
      {d.stringToSign && (
        <>
          <h3>{t("request.stringToSign")}</h3>
          <pre>{d.stringToSign}</pre>
        </>
      )}
    </section>
  );
}

export function RequestPage(props: { requestId: string }) {
  const { data, error } = useLoad(async () => {
    const answer = await call(`/requests/${encodeURIComponent(props.requestId)}`);
    const charge = field(answer, "charge");
    return {
      request: loggedCallOf(field(answer, "request")),
      charge: isRecord(charge) ? text(charge.amount) : undefined,
      diagnosis: diagnosisOf(field(answer, "diagnosis")),
    };
  }, [props.requestId]);
  const c = data?.request;
  return (
    <section aria-busy={!data && !error}>
      <p>
        <Link to="requests">{t("request.back")}</Link>
      </p>
      <h1>{t("request.title", { id: props.requestId })}</h1>
      <ErrorNotice message={error} />
      {data && c && (
        <>
          <dl class="pairs">
            <Pair name={t("common.time")} value={when(c.at)} />
            <Pair name={t("common.accountId")} value={c.accountId} />
            <Pair name={t("common.secretId")} value={c.secretId + (c.test ? ` (${t("keys.test")})` : "")} />
            <Pair name={t("common.action")} value={c.action} />
            <Pair name={t("request.signatureMethod")} value={c.signatureMethod} />
            <Pair name={t("request.params")} value={c.params.join(", ")} />
            <Pair name={t("request.verifyMode")} value={c.verifyMode} />
            <Pair name={t("request.encrypted")} value={c.encrypted.join(", ")} />
            <Pair name={t("request.answer")} value={outcomeOf(c)} />
            <Pair name={t("request.charge")} value={data.charge ?? t("request.notCharged")} />
            <Pair name={t("request.scenario")} value={c.scenario || t("request.noScenario")} />
            <Pair name={t("requests.latency")} value={t("requests.ms", { ms: c.latencyMs })} />
          </dl>
          {data.diagnosis && <DiagnosisView diagnosis={data.diagnosis} />}
        </>
      )}
    </section>
  );
}
