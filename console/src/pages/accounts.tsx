/** Accounts: searched and paged in the database; a new one made here. */
import { useState } from "preact/hooks";
import { call, messageOf, query } from "../api";
import { accountOf, accountsOf } from "../accounts";
import { Link } from "../components/link";
import { useLoad } from "../components/load";
import { ErrorNotice } from "../components/notice";
import { Pager } from "../components/pager";
import { t } from "../i18n";
import { count, field } from "../json";
import { navigate } from "../router";

const PAGE = 50;

export function stateOf(account: { activated: boolean; identityVerified: boolean; billing: string }): string {
  if (!account.activated) return t("accounts.stateNotActivated");
  if (!account.identityVerified) return t("accounts.stateNotVerified");
  if (account.billing !== "ok") return t("accounts.stateBilling");
  return t("accounts.stateOk");
}

function CreateAccount() {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const made = accountOf(field(await call("/accounts", { method: "POST", body: { name } }), "account"));
      navigate(`accounts/${made.accountId}`);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <form class="inline" aria-labelledby="account-create" onSubmit={submit}>
      <h2 id="account-create">{t("accounts.create")}</h2>
      <label>
        {t("accounts.name")}
        <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <button type="submit">{t("accounts.createButton")}</button>
      <ErrorNotice message={error} />
    </form>
  );
}

export function Accounts(props: { canChange: boolean }) {
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const { data, error } = useLoad(async () => {
    const answer = await call(`/accounts${query({ search: search.trim(), offset, limit: PAGE })}`);
    return { accounts: accountsOf(answer), total: count(field(answer, "total")) };
  }, [search, offset]);
  return (
    <section aria-busy={!data && !error}>
      <h1>{t("nav.accounts")}</h1>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("accounts.search")}
          <input
            type="search"
            value={search}
            onInput={(e) => {
              setSearch(e.currentTarget.value);
              setOffset(0);
            }}
          />
        </label>
      </form>
      <ErrorNotice message={error} />
      {data && (
        <>
          <table>
            <caption>{t("accounts.caption")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("accounts.name")}</th>
                <th scope="col">{t("common.accountId")}</th>
                <th scope="col">{t("accounts.state")}</th>
                <th scope="col">{t("accounts.balance")}</th>
                <th scope="col">{t("nav.keys")}</th>
              </tr>
            </thead>
            <tbody>
              {data.accounts.map((account) => (
                <tr key={account.accountId}>
                  <th scope="row">
                    <Link to={`accounts/${account.accountId}`}>{account.name}</Link>
                  </th>
                  <td>{account.accountId}</td>
                  <td>{stateOf(account)}</td>
                  <td>{account.balance}</td>
                  <td>
                    <Link to={`keys/${account.accountId}`} label={t("accounts.keysOf", { name: account.name })}>
                      {t("nav.keys")}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager offset={offset} limit={PAGE} total={data.total} onPage={setOffset} />
        </>
      )}
      {props.canChange && <CreateAccount />}
    </section>
  );
}
