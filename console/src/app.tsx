/** The console's frame: signed in or not, the navigation, the language, and the page the URL names. */
import { useEffect, useState } from "preact/hooks";
import { whenSignedOut } from "./api";
import { Link } from "./components/link";
import { type Key, type Lang, language, setLanguage, t } from "./i18n";
import { AccountPage } from "./pages/account";
import { Accounts } from "./pages/accounts";
import { Gateway } from "./pages/gateway";
import { Keys } from "./pages/keys";
import { Overview } from "./pages/overview";
import { Records } from "./pages/records";
import { RequestPage } from "./pages/request";
import { Requests } from "./pages/requests";
import { Scenarios } from "./pages/scenarios";
import { SignIn } from "./pages/sign-in";
import { Usage } from "./pages/usage";
import { useLocation } from "./router";
import { currentSession, type Session, signOut } from "./session";

const PAGES: ReadonlyArray<{ path: string; name: Key }> = [
  { path: "", name: "nav.overview" },
  { path: "accounts", name: "nav.accounts" },
  { path: "keys", name: "nav.keys" },
  { path: "usage", name: "nav.usage" },
  { path: "requests", name: "nav.requests" },
  { path: "scenarios", name: "nav.scenarios" },
  { path: "gateway", name: "nav.gateway" },
  { path: "records", name: "nav.records" },
];

function Page(props: { path: string; canChange: boolean }) {
  const [section = "", id] = props.path.split("/");
  const { canChange } = props;
  switch (section) {
    case "":
      return <Overview />;
    case "accounts":
      // keyed by account: nothing typed or shown for one account stays on the next one's page
      return id ? <AccountPage key={id} accountId={id} canChange={canChange} /> : <Accounts canChange={canChange} />;
    case "keys":
      return <Keys accountId={id} canChange={canChange} />;
    case "usage":
      return <Usage />;
    case "requests":
      return id ? <RequestPage requestId={id} /> : <Requests />;
    case "scenarios":
      return <Scenarios canChange={canChange} />;
    case "gateway":
      return <Gateway />;
    case "records":
      return <Records canChange={canChange} />;
    default:
      return <p role="alert">{t("app.notFound")}</p>;
  }
}

function LanguagePicker(props: { onChange: (lang: Lang) => void }) {
  return (
    <label class="language">
      {t("app.language")}
      <select
        aria-label={t("app.language")}
        value={language()}
        onChange={(e) => props.onChange(e.currentTarget.value === "zh" ? "zh" : "en")}
      >
        <option value="zh" lang="zh-CN">
          简体中文
        </option>
        <option value="en" lang="en">
          English
        </option>
      </select>
    </label>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined); // undefined: still asking
  const [, setLang] = useState<Lang>(language());
  const { path } = useLocation();
  const section = path.split("/")[0] ?? "";

  useEffect(() => {
    whenSignedOut(() => setSession(null));
    currentSession().then((found) => setSession(found ?? null));
  }, []);

  useEffect(() => {
    const name = PAGES.find((p) => p.path === section)?.name;
    document.title = `${name ? t(name) : t("app.title")} · sanyao`;
  });

  const changeLanguage = (lang: Lang) => {
    setLanguage(lang);
    setLang(lang);
  };

  if (session === undefined) return <p class="loading">{t("app.loading")}</p>;
  if (session === null) {
    return (
      <>
        <header class="top">
          <span class="brand">{t("app.title")}</span>
          <LanguagePicker onChange={changeLanguage} />
        </header>
        <SignIn onSignedIn={setSession} />
      </>
    );
  }
  const canChange = session.role === "operator";
  return (
    <>
      <header class="top">
        <span class="brand">{t("app.title")}</span>
        <nav aria-label={t("app.navigation")}>
          <ul>
            {PAGES.map((page) => (
              <li key={page.path}>
                <Link to={page.path} current={section === page.path}>
                  {t(page.name)}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span class="role">{canChange ? t("app.roleOperator") : t("app.roleReadOnly")}</span>
        <LanguagePicker onChange={changeLanguage} />
        <button type="button" onClick={() => signOut().finally(() => setSession(null))}>
          {t("app.signOut")}
        </button>
      </header>
      {!canChange && (
        <p class="notice read-only" role="note">
          {t("app.readOnlyNote")}
        </p>
      )}
      <main>
        <Page path={path} canChange={canChange} />
      </main>
    </>
  );
}
