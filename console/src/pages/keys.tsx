/**
 * Keys, per account: made here (the SecretKey shown once, with a copy button, and forgotten when dismissed),
 * disabled, enabled again; test keys answer from the fixtures.
 */
import { useState } from "preact/hooks";
import { call, messageOf, query } from "../api";
import { accountOf, accountsOf } from "../accounts";
import { Link } from "../components/link";
import { useLoad } from "../components/load";
import { DoneNotice, ErrorNotice } from "../components/notice";
import { t, when } from "../i18n";
import { field, flag, list, text } from "../json";

function PickAccount() {
  const [search, setSearch] = useState("");
  const { data, error } = useLoad(async () => accountsOf(await call(`/accounts${query({ search: search.trim(), limit: 20 })}`)), [search]);
  return (
    <>
      <p>{t("keys.pick")}</p>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t("accounts.search")}
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </form>
      <ErrorNotice message={error} />
      <ul class="plain" aria-busy={!data && !error}>
        {(data ?? []).map((account) => (
          <li key={account.accountId}>
            <Link to={`keys/${account.accountId}`} label={t("accounts.keysOf", { name: account.name })}>
              {account.name}
            </Link>{" "}
            <span class="muted">{account.accountId}</span>
          </li>
        ))}
      </ul>
    </>
  );
}

interface NewKey {
  secretId: string;
  secretKey: string;
}

function ShownOnce(props: { made: NewKey; onDismiss: () => void }) {
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.made.secretKey);
      setCopied(t("keys.copied"));
    } catch {
      setCopied(t("keys.copyFailed"));
    }
  };
  return (
    <section class="shown-once" aria-labelledby="new-key">
      <h2 id="new-key">{t("keys.newKey")}</h2>
      <p>{t("keys.shownOnce")}</p>
      <dl class="pairs">
        <div>
          <dt>{t("common.secretId")}</dt>
          <dd>
            <code>{props.made.secretId}</code>
          </dd>
        </div>
        <div>
          <dt>SecretKey</dt>
          <dd>
            <code data-testid="secret-key">{props.made.secretKey}</code>
          </dd>
        </div>
      </dl>
      <button type="button" onClick={copy}>
        {t("keys.copy")}
      </button>{" "}
      <button type="button" onClick={props.onDismiss}>
        {t("keys.dismiss")}
      </button>
      <DoneNotice message={copied} />
    </section>
  );
}

function AccountKeys(props: { accountId: string; canChange: boolean }) {
  const path = `/accounts/${encodeURIComponent(props.accountId)}`;
  const account = useLoad(async () => accountOf(field(await call(path), "account")), [path]);
  const keys = useLoad(
    async () =>
      list(field(await call(`${path}/keys`), "keys")).map((k) => ({
        secretId: text(field(k, "secretId")),
        enabled: flag(field(k, "enabled")),
        test: flag(field(k, "test")),
        createdAt: text(field(k, "createdAt")),
      })),
    [path],
  );
  const [test, setTest] = useState(false);
  const [made, setMade] = useState<NewKey | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const create = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const key = field(await call(`${path}/keys`, { method: "POST", body: { test } }), "key");
      setMade({ secretId: text(field(key, "secretId")), secretKey: text(field(key, "secretKey")) });
      keys.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const setEnabled = async (secretId: string, enabled: boolean) => {
    setError(undefined);
    try {
      await call(`/keys/${encodeURIComponent(secretId)}`, { method: "PATCH", body: { enabled } });
      keys.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <>
      <p>
        <Link to="keys">{t("keys.back")}</Link>
      </p>
      <h2>{account.data ? t("keys.of", { name: account.data.name }) : props.accountId}</h2>
      <ErrorNotice message={account.error ?? keys.error ?? error} />
      {made && <ShownOnce made={made} onDismiss={() => setMade(undefined)} />}
      <table aria-busy={!keys.data && !keys.error}>
        <thead>
          <tr>
            <th scope="col">{t("common.secretId")}</th>
            <th scope="col">{t("keys.kind")}</th>
            <th scope="col">{t("keys.status")}</th>
            <th scope="col">{t("account.created")}</th>
            {props.canChange && <th scope="col">{t("keys.change")}</th>}
          </tr>
        </thead>
        <tbody>
          {(keys.data ?? []).map((key) => (
            <tr key={key.secretId}>
              <th scope="row">
                <code>{key.secretId}</code>
              </th>
              <td>{key.test ? t("keys.test") : t("keys.live")}</td>
              <td>{key.enabled ? t("keys.enabled") : t("keys.disabled")}</td>
              <td>{when(key.createdAt)}</td>
              {props.canChange && (
                <td>
                  <button
                    type="button"
                    aria-label={t(key.enabled ? "keys.disableKey" : "keys.enableKey", { secretId: key.secretId })}
                    onClick={() => setEnabled(key.secretId, !key.enabled)}
                  >
                    {key.enabled ? t("keys.disable") : t("keys.enable")}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {props.canChange && (
        <form class="inline" onSubmit={create}>
          <label class="check">
            <input type="checkbox" checked={test} onChange={(e) => setTest(e.currentTarget.checked)} />
            {t("keys.testKey")}
          </label>
          <button type="submit">{t("keys.create")}</button>
        </form>
      )}
    </>
  );
}

export function Keys(props: { accountId: string | undefined; canChange: boolean }) {
  return (
    <section>
      <h1>{t("nav.keys")}</h1>
      {/* keyed: another account's page starts afresh, never showing the last one's SecretKey */}
      {props.accountId ? <AccountKeys key={props.accountId} accountId={props.accountId} canChange={props.canChange} /> : <PickAccount />}
    </section>
  );
}
