/**
 * Who calls the operations API when the console is plugged in: a bearer token as before (the CLI, scripts), else
 * the session cookie. A request riding on a session must come from this server's own origin, and one that changes
 * something must carry the session's CSRF token in X-Sanyao-CSRF: a page of another site can make the browser send
 * the cookie, but cannot read the token (SameSite=Strict is the first defence, these two the second).
 */
import type { IncomingMessage } from "node:http";
import { type Caller, callerOf } from "../operations/admin-token";
import { OperationError } from "../operations/route";
import type { ConsoleParts } from "./context";
import { csrfMatches, foreignOrigin, sessionCookie } from "./http";

export const FOREIGN_ORIGIN = "This request comes from another site (its Origin is not this server's): refused.";
export const CSRF_MISSING = "A request of a console session that changes something carries the session's X-Sanyao-CSRF header.";

/** Safe methods change nothing, so they need no CSRF token. */
const SAFE = new Set(["GET", "HEAD"]);

export function consoleIdentify(parts: ConsoleParts): (req: IncomingMessage, bearerOnly: boolean) => Promise<Caller> {
  return async (req, bearerOnly) => {
    if (req.headers.authorization !== undefined) return callerOf(req.headers.authorization, parts.tokens);
    const cookie = sessionCookie(req);
    if (cookie === undefined || bearerOnly) return "anyone";
    // Before the lookup, which costs a store read: a cookie sent from another site is refused whatever it holds.
    if (foreignOrigin(req)) throw new OperationError(403, FOREIGN_ORIGIN);
    const session = await parts.sessions.find(cookie);
    if (!session) return "anyone";
    if (!SAFE.has(req.method ?? "") && !csrfMatches(req, session.csrf)) throw new OperationError(403, CSRF_MISSING);
    return session.role === "operator" ? "operator" : "reader";
  };
}
