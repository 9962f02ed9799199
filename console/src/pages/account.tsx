/** One account: its state and limits (changed here), its balance (topped up here), its ledger (filtered, paged, as CSV). */
import { useEffect, useState } from "preact/hooks";
import { API, call, messageOf, query } from "../api";
import { type Account, ACTIONS, accountOf } from "../accounts";
import { Link } from "../components/link";
import { useLoad } from "../components/load";
import { DoneNotice, ErrorNotice } from "../components/notice";
import { Pager } from "../components/pager";
import { t, when } from "../i18n";
import { count, field, flag, list, text } from "../json";
import { stateOf } from "./accounts";

/** "PhoneVerification=5, MobileStatus=2" ⇄ {PhoneVerification: 5, MobileStatus: 2} */
const limitsText = (limits: Array<[string, number]>) => limits.map(([action, n]) => `${action}=${n}`).join(", ");
function limitsOf(textValue: string): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const part of textValue
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [action = "", n = ""] = part.split("=").map((p) => p.trim());
    limits[action] = Number(n);
  }
  return limits;
}

function EditAccount(props: { account: Account; onSaved: (account: Account) => void }) {
  const { account } = props;
  const [form, setForm] = useState({
    activated: account.activated,
    identityVerified: account.identityVerified,
    billing: account.billing,
    rateLimit: String(account.rateLimit),
    rateLimits: limitsText(account.rateLimits),
    dailyCap: String(account.dailyCap),
    monthlyBudget: account.monthlyBudget,
  });
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const set = (change: Partial<typeof form>) => setForm({ ...form, ...change });
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setDone(undefined);
    try {
      const answer = await call(`/accounts/${encodeURIComponent(account.accountId)}`, {
        method: "PATCH",
        body: {
          activated: form.activated,
          identityVerified: form.identityVerified,
          billing: form.billing,
          rateLimit: Number(form.rateLimit),
          rateLimits: limitsOf(form.rateLimits),
          dailyCap: Number(form.dailyCap),
          monthlyBudget: form.monthlyBudget.trim() || "0",
        },
      });
      props.onSaved(accountOf(field(answer, "account")));
      setDone(t("account.saved"));
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <form class="grid" aria-labelledby="account-edit" onSubmit={submit}>
      <h2 id="account-edit">{t("account.edit")}</h2>
      <label class="check">
        <input type="checkbox" checked={form.activated} onChange={(e) => set({ activated: e.currentTarget.checked })} />
        {t("account.activated")}
      </label>
      <label class="check">
        <input type="checkbox" checked={form.identityVerified} onChange={(e) => set({ identityVerified: e.currentTarget.checked })} />
        {t("account.identityVerified")}
      </label>
      <label>
        {t("account.billing")}
        <select aria-label={t("account.billing")} value={form.billing} onChange={(e) => set({ billing: e.currentTarget.value })}>
          <option value="ok">{t("account.billingOk")}</option>
          <option value="abnormal">{t("account.billingAbnormal")}</option>
        </select>
      </label>
      <label>
        {t("account.rateLimit")}
        <input type="number" min={1} required value={form.rateLimit} onInput={(e) => set({ rateLimit: e.currentTarget.value })} />
      </label>
      <label>
        {t("account.rateLimits")}
        <input placeholder="PhoneVerification=5" value={form.rateLimits} onInput={(e) => set({ rateLimits: e.currentTarget.value })} />
      </label>
      <label>
        {t("account.dailyCap")}
        <input type="number" min={0} required value={form.dailyCap} onInput={(e) => set({ dailyCap: e.currentTarget.value })} />
      </label>
      <label>
        {t("account.monthlyBudget")}
        <input inputMode="decimal" value={form.monthlyBudget} onInput={(e) => set({ monthlyBudget: e.currentTarget.value })} />
      </label>
      <button type="submit">{t("account.save")}</button>
      <ErrorNotice message={error} />
      <DoneNotice message={done} />
    </form>
  );
}

function TopUp(props: { accountId: string; onDone: () => void }) {
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setDone(undefined);
    try {
      const answer = await call(`/accounts/${encodeURIComponent(props.accountId)}/top-ups`, {
        method: "POST",
        body: { amount: amount.trim(), ...(note.trim() && { note: note.trim() }) },
      });
      setAmount("");
      setNote("");
      setDone(t("account.toppedUp", { balance: text(field(answer, "balance")) }));
      props.onDone();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <form class="grid" aria-labelledby="account-top-up" onSubmit={submit}>
      <h2 id="account-top-up">{t("account.topUp")}</h2>
      <label>
        {t("account.topUpAmount")}
        <input inputMode="decimal" required value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
      </label>
      <label>
        {t("account.topUpNote")}
        <input maxLength={500} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      <button type="submit">{t("account.topUpButton")}</button>
      <ErrorNotice message={error} />
      <DoneNotice message={done} />
    </form>
  );
}

const PAGE = 50;

function Ledger(props: { accountId: string; version: number }) {
  const [day, setDay] = useState("");
  const [action, setAction] = useState("");
  const [offset, setOffset] = useState(0);
  const filters = { from: day || undefined, to: day || undefined, action: action || undefined };
  const path = `/accounts/${encodeURIComponent(props.accountId)}/ledger`;
  const { data, error } = useLoad(async () => {
    const answer = await call(`${path}${query({ ...filters, offset, limit: PAGE })}`);
    return {
      total: count(field(answer, "total")),
      entries: list(field(answer, "entries")).map((e) => ({
        at: text(field(e, "at")),
        requestId: text(field(e, "requestId")),
        secretId: text(field(e, "secretId")),
        action: text(field(e, "action")),
        mode: text(field(e, "mode")),
        amount: text(field(e, "amount")),
        test: flag(field(e, "test")),
      })),
    };
  }, [day, action, offset, props.version]);
  return (
    <section aria-labelledby="account-ledger" aria-busy={!data && !error}>
      <h2 id="account-ledger">{t("account.ledger")}</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("common.day")}
          <input
            type="date"
            value={day}
            onInput={(e) => {
              setDay(e.currentTarget.value);
              setOffset(0);
            }}
          />
        </label>
        <label>
          {t("common.action")}
          <select
            aria-label={t("common.action")}
            value={action}
            onChange={(e) => {
              setAction(e.currentTarget.value);
              setOffset(0);
            }}
          >
            <option value="">{t("common.all")}</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <a class="button" href={`${API}${path}${query({ ...filters, format: "csv" })}`} download>
          {t("common.exportCsv")}
        </a>
      </form>
      <ErrorNotice message={error} />
      {data && (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("common.time")}</th>
                <th scope="col">{t("common.requestId")}</th>
                <th scope="col">{t("common.secretId")}</th>
                <th scope="col">{t("common.action")}</th>
                <th scope="col">{t("account.mode")}</th>
                <th scope="col">{t("common.amount")}</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((entry) => (
                <tr key={entry.requestId}>
                  <td>{when(entry.at)}</td>
                  <td>
                    <Link to={`requests/${entry.requestId}`}>{entry.requestId}</Link>
                  </td>
                  <td>{entry.secretId}</td>
                  <td>{entry.action}</td>
                  <td>{entry.mode}</td>
                  <td>{entry.amount}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager offset={offset} limit={PAGE} total={data.total} onPage={setOffset} />
        </>
      )}
    </section>
  );
}

export function AccountPage(props: { accountId: string; canChange: boolean }) {
  const [version, setVersion] = useState(0);
  const { data, error } = useLoad(
    async () => accountOf(field(await call(`/accounts/${encodeURIComponent(props.accountId)}`), "account")),
    [props.accountId, version],
  );
  const [account, setAccount] = useState<Account | undefined>(undefined);
  useEffect(() => setAccount(data), [data]);
  return (
    <section aria-busy={!data && !error}>
      <p>
        <Link to="accounts">{t("account.back")}</Link>
      </p>
      <ErrorNotice message={error} />
      {account && (
        <>
          <h1>{account.name}</h1>
          <dl class="pairs">
            <div>
              <dt>{t("common.accountId")}</dt>
              <dd>{account.accountId}</dd>
            </div>
            <div>
              <dt>{t("accounts.state")}</dt>
              <dd>{stateOf(account)}</dd>
            </div>
            <div>
              <dt>{t("accounts.balance")}</dt>
              <dd data-testid="balance">{account.balance}</dd>
            </div>
            <div>
              <dt>{t("account.created")}</dt>
              <dd>{when(account.createdAt)}</dd>
            </div>
          </dl>
          <p>
            <Link to={`keys/${account.accountId}`}>{t("account.keys")}</Link>
          </p>
          {props.canChange && (
            <div class="columns">
              <EditAccount key={`${account.accountId}:${version}`} account={account} onSaved={setAccount} />
              <TopUp key={account.accountId} accountId={account.accountId} onDone={() => setVersion(version + 1)} />
            </div>
          )}
          <Ledger accountId={account.accountId} version={version} />
        </>
      )}
    </section>
  );
}
