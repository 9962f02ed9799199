/**
 * Scenarios: what matching calls answer instead (a Result, an error, late, a reset, never, a moved clock), with every
 * option `sanyao scenarios add` has. A phone or identity number typed here goes to the server, which keeps a keyed
 * hash and shows a mask; the form forgets it once sent.
 */
import { useState } from "preact/hooks";
import { call, messageOf, query } from "../api";
import { ACTIONS } from "../accounts";
import { useLoad } from "../components/load";
import { DoneNotice, ErrorNotice } from "../components/notice";
import { type Key, t, when } from "../i18n";
import { count, field, list, optionalCount, text } from "../json";

type Effect = "result" | "error" | "delay" | "reset" | "hang" | "clock";
const EFFECTS: ReadonlyArray<[Effect, Key]> = [
  ["result", "scenarios.effectResult"],
  ["error", "scenarios.effectError"],
  ["delay", "scenarios.effectDelay"],
  ["reset", "scenarios.effectReset"],
  ["hang", "scenarios.effectHang"],
  ["clock", "scenarios.effectClock"],
];
const VALUE_LABEL: Partial<Record<Effect, Key>> = {
  result: "scenarios.resultCode",
  error: "scenarios.errorCode",
  delay: "scenarios.delayMs",
  clock: "scenarios.clockOffsetS",
};

interface Scenario {
  id: string;
  accountId: string;
  secretId: string;
  action: string;
  phoneMasked: string;
  idCardMasked: string;
  effect: string;
  probability: number;
  remaining: number | undefined;
  until: string;
}

function effectText(effect: unknown): string {
  const kind = text(field(effect, "kind"));
  const min = optionalCount(field(effect, "minMs"));
  const max = optionalCount(field(effect, "maxMs"));
  switch (kind) {
    case "result":
      return t("scenarios.resultIs", { result: text(field(effect, "result")) });
    case "error":
      return text(field(effect, "code"));
    case "delay":
      return min === max ? `${min ?? 0} ms` : `${min ?? 0}–${max ?? 0} ms`;
    case "clock":
      return `${Math.round(count(field(effect, "offsetMs")) / 1000)} s`;
    default:
      return kind;
  }
}

const scenarioOf = (s: unknown): Scenario => ({
  id: text(field(s, "id")),
  accountId: text(field(s, "accountId")),
  secretId: text(field(s, "secretId")),
  action: text(field(s, "action")),
  phoneMasked: text(field(s, "phoneMasked")),
  idCardMasked: text(field(s, "idCardMasked")),
  effect: effectText(field(s, "effect")),
  probability: count(field(s, "probability")),
  remaining: optionalCount(field(s, "remaining")),
  until: text(field(s, "until")),
});

const EMPTY = {
  account: "",
  secretId: "",
  action: "",
  phone: "",
  idCard: "",
  effect: "result" as Effect,
  value: "",
  times: "",
  probability: "",
  until: "",
  seed: "",
};

/** the form as the API's body: the fields given, and the one effect chosen */
function bodyOf(form: typeof EMPTY): Record<string, string | boolean> {
  const given = (value: string) => value.trim() || undefined;
  const body: Record<string, string | boolean | undefined> = {
    account: form.account.trim(),
    secretId: given(form.secretId),
    action: given(form.action),
    phone: given(form.phone),
    idCard: given(form.idCard),
    times: given(form.times),
    probability: given(form.probability),
    until: given(form.until),
    seed: given(form.seed),
  };
  const value = form.value.trim();
  if (form.effect === "result") body.result = value;
  if (form.effect === "error") body.error = value;
  if (form.effect === "delay") body.delayMs = value;
  if (form.effect === "clock") body.clockOffsetS = value;
  if (form.effect === "reset") body.reset = true;
  if (form.effect === "hang") body.hang = true;
  return Object.fromEntries(Object.entries(body).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]])));
}

function AddScenario(props: { onAdded: () => void }) {
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const set = (change: Partial<typeof EMPTY>) => setForm({ ...form, ...change });
  const input = (name: keyof typeof EMPTY, label: Key, extra: Record<string, string> = {}) => (
    <label>
      {t(label)}
      <input {...extra} value={form[name]} onInput={(e) => set({ [name]: e.currentTarget.value })} />
    </label>
  );
  const valueLabel = VALUE_LABEL[form.effect];
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setDone(undefined);
    try {
      const added = field(await call("/scenarios", { method: "POST", body: bodyOf(form) }), "scenario");
      // the numbers typed are not kept: the list shows their masks
      setForm({ ...form, phone: "", idCard: "" });
      setDone(t("scenarios.added", { id: text(field(added, "id")) }));
      props.onAdded();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <form class="grid" aria-labelledby="scenario-add" onSubmit={submit}>
      <h2 id="scenario-add">{t("scenarios.add")}</h2>
      {input("account", "common.accountId", { required: "" })}
      {input("secretId", "common.secretId")}
      <label>
        {t("common.action")}
        <select aria-label={t("common.action")} value={form.action} onChange={(e) => set({ action: e.currentTarget.value })}>
          <option value="">{t("common.all")}</option>
          {ACTIONS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </label>
      {input("phone", "scenarios.phone", { autocomplete: "off", inputMode: "numeric" })}
      {input("idCard", "scenarios.idCard", { autocomplete: "off" })}
      <label>
        {t("scenarios.effect")}
        <select
          aria-label={t("scenarios.effect")}
          value={form.effect}
          onChange={(e) => set({ effect: (EFFECTS.find(([v]) => v === e.currentTarget.value) ?? EFFECTS[0])?.[0] })}
        >
          {EFFECTS.map(([value, name]) => (
            <option key={value} value={value}>
              {t(name)}
            </option>
          ))}
        </select>
      </label>
      {valueLabel && input("value", valueLabel, { required: "" })}
      {input("times", "scenarios.times", { inputMode: "numeric" })}
      {input("probability", "scenarios.probability", { inputMode: "decimal" })}
      {input("until", "scenarios.until", { placeholder: "2026-12-02T12:00:00Z" })}
      {input("seed", "scenarios.seed", { inputMode: "numeric" })}
      <button type="submit">{t("scenarios.addButton")}</button>
      <ErrorNotice message={error} />
      <DoneNotice message={done} />
    </form>
  );
}

export function Scenarios(props: { canChange: boolean }) {
  const [account, setAccount] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const scenarios = useLoad(
    async () => list(field(await call(`/scenarios${query({ account: account.trim() })}`), "scenarios")).map(scenarioOf),
    [account],
  );
  const change = async (path: string) => {
    setError(undefined);
    try {
      await call(path, { method: "DELETE" });
      scenarios.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <section aria-busy={!scenarios.data && !scenarios.error}>
      <h1>{t("nav.scenarios")}</h1>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("common.accountId")}
          <input value={account} onChange={(e) => setAccount(e.currentTarget.value)} />
        </label>
        {props.canChange &&
          (confirming ? (
            <>
              <button
                type="button"
                onClick={() => change(`/scenarios${query({ account: account.trim() })}`).then(() => setConfirming(false))}
              >
                {t("scenarios.confirmClear")}
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                {t("common.cancel")}
              </button>
            </>
          ) : (
            <button type="button" onClick={() => setConfirming(true)}>
              {account.trim() ? t("scenarios.clearAccount") : t("scenarios.clearAll")}
            </button>
          ))}
      </form>
      <ErrorNotice message={scenarios.error ?? error} />
      <table>
        <caption>{t("scenarios.caption")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("scenarios.id")}</th>
            <th scope="col">{t("common.accountId")}</th>
            <th scope="col">{t("common.secretId")}</th>
            <th scope="col">{t("common.action")}</th>
            <th scope="col">{t("scenarios.phone")}</th>
            <th scope="col">{t("scenarios.idCard")}</th>
            <th scope="col">{t("scenarios.effect")}</th>
            <th scope="col">{t("scenarios.probability")}</th>
            <th scope="col">{t("scenarios.remaining")}</th>
            <th scope="col">{t("scenarios.until")}</th>
            {props.canChange && <th scope="col">{t("scenarios.remove")}</th>}
          </tr>
        </thead>
        <tbody>
          {(scenarios.data ?? []).length === 0 && (
            <tr>
              <td colSpan={11}>{t("scenarios.none")}</td>
            </tr>
          )}
          {(scenarios.data ?? []).map((s) => (
            <tr key={s.id}>
              <th scope="row">{s.id}</th>
              <td>{s.accountId}</td>
              <td>{s.secretId}</td>
              <td>{s.action}</td>
              <td>{s.phoneMasked}</td>
              <td>{s.idCardMasked}</td>
              <td>{s.effect}</td>
              <td>{s.probability}</td>
              <td>{s.remaining ?? "∞"}</td>
              <td>{s.until && when(s.until)}</td>
              {props.canChange && (
                <td>
                  <button
                    type="button"
                    aria-label={t("scenarios.removeOne", { id: s.id })}
                    onClick={() => change(`/scenarios/${encodeURIComponent(s.id)}`)}
                  >
                    {t("scenarios.remove")}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {props.canChange && <AddScenario onAdded={scenarios.reload} />}
    </section>
  );
}
