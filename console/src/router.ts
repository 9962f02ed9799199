/**
 * Client-side routes under /_sanyao/console/: each page and each request has a URL of its own (the server answers
 * index.html for any path there). History API only; no hash routes.
 */
import { useEffect, useState } from "preact/hooks";

export const BASE = "/_sanyao/console/";

const CHANGE = "sanyao:navigate";

/** a path no page has (it holds a NUL, which no link makes): the console shows its not-found page */
const NOT_A_PAGE = "\u0000";

/** the path inside the console, without BASE: "", "accounts", "requests/abc" */
export function currentPath(): string {
  const { pathname } = window.location;
  if (!pathname.startsWith(BASE)) return "";
  try {
    return decodeURIComponent(pathname.slice(BASE.length)).replace(/\/+$/, "");
  } catch {
    return NOT_A_PAGE; // a malformed escape (a lone %): the not-found page, not a blank one
  }
}

export function href(path: string): string {
  return BASE + path;
}

export function navigate(path: string): void {
  window.history.pushState(null, "", href(path));
  window.dispatchEvent(new Event(CHANGE));
  window.scrollTo(0, 0);
}

/** the current path, following links and the back button */
export function useLocation(): { path: string } {
  const [location, setLocation] = useState(() => ({ path: currentPath() }));
  useEffect(() => {
    const follow = () => setLocation({ path: currentPath() });
    window.addEventListener("popstate", follow);
    window.addEventListener(CHANGE, follow);
    return () => {
      window.removeEventListener("popstate", follow);
      window.removeEventListener(CHANGE, follow);
    };
  }, []);
  return location;
}
