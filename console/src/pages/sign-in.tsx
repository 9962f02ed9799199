/** Sign-in: the operator (or read-only) token, pasted once; the server answers a session cookie. */
import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { ErrorNotice } from "../components/notice";
import { t } from "../i18n";
import { type Session, signIn } from "../session";

export function SignIn(props: { onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await signIn(token.trim());
      setToken("");
      props.onSignedIn(session);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? t("signIn.refused")
          : err instanceof ApiError && err.status === 429
            ? t("signIn.tooMany")
            : err instanceof ApiError && err.status > 0
              ? t("signIn.refusedStatus", { status: err.status })
              : t("signIn.failed"),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>{t("signIn.title")}</h1>
      <p>{t("signIn.intro")}</p>
      <form onSubmit={submit}>
        <label>
          {t("signIn.token")}
          <input
            type="password"
            autocomplete="off"
            spellcheck={false}
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {t("signIn.submit")}
        </button>
      </form>
      <ErrorNotice message={error} />
      <p class="hint">{t("signIn.hint")}</p>
    </main>
  );
}
