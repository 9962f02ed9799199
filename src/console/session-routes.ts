/**
 * The console's sign-in: a token exchanged for a session cookie (HttpOnly, SameSite=Strict, Secure behind TLS),
 * the session read back (its role and CSRF token), and signed out. Every wrong token gets the same answer, and an
 * address gets SIGN_IN_LIMIT attempts a minute.
 */
import { callerOfToken } from "../operations/admin-token";
import { json, OperationError, routesFor } from "../operations/route";
import { boolean, object, oneOf, string } from "../operations/schema";
import type { ConsoleContext } from "./context";
import { FOREIGN_ORIGIN } from "./identify";
import { foreignOrigin, sessionCookie, setCookie } from "./http";
import { type Session, SESSION_MAX_MS } from "./sessions";
import { SIGN_IN_LIMIT } from "./sign-in-budget";

const route = routesFor<ConsoleContext>();

const sessionAnswer = object({
  role: oneOf(["operator", "read-only"]),
  csrf: string({ description: "send it as X-Sanyao-CSRF with every request that changes something" }),
  expiresAt: string({ format: "date-time", description: "when the session ends unless used again (12 hours after sign-in at most)" }),
});

const shown = (s: Session) => ({ role: s.role, csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString() });

export const WRONG_TOKEN = "That is not a token of this installation.";
const NO_SESSION = "No console session: sign in with POST /_sanyao/session.";

export const sessionRoutes = [
  route({
    id: "signIn",
    method: "POST",
    path: "/_sanyao/session",
    group: "console",
    summary: "Sign in: the operator or read-only token for a session cookie (sanyao_session) and its CSRF token",
    description:
      `The cookie is HttpOnly, SameSite=Strict, Path=/_sanyao, Secure when the request came over TLS (X-Forwarded-Proto: https). ` +
      `Every wrong token gets the same 401; more than ${SIGN_IN_LIMIT} attempts a minute from one address get 429.`,
    access: "anonymous",
    body: object({ token: string({ maxLength: 512, description: "the operator token or the read-only token" }) }),
    answers: { 201: { description: "signed in; Set-Cookie carries the session", schema: sessionAnswer } },
    errors: {
      403: "the request comes from another site (Origin)",
      429: `more than ${SIGN_IN_LIMIT} sign-in attempts a minute from this address (Retry-After says when to try again)`,
    },
    handle: async ({ body, req }, ctx) => {
      if (foreignOrigin(req)) throw new OperationError(403, FOREIGN_ORIGIN);
      const wait = ctx.console.signIns.take(req.socket.remoteAddress ?? "");
      if (wait !== undefined) {
        throw new OperationError(429, `Too many sign-in attempts from this address: try again in ${wait} s.`, {
          "retry-after": String(wait),
        });
      }
      const caller = callerOfToken(body.token, ctx.console.tokens);
      if (caller === "anyone") return json(401, { error: WRONG_TOKEN });
      const { cookie, session } = await ctx.console.sessions.start(caller === "operator" ? "operator" : "read-only");
      // The cookie may live as long as a session can; the server ends an idle one sooner.
      return json(201, shown(session), { "set-cookie": setCookie(req, cookie, SESSION_MAX_MS / 1000) });
    },
  }),
  route({
    id: "getSession",
    method: "GET",
    path: "/_sanyao/session",
    group: "console",
    summary: "The session of the cookie sent: its role, CSRF token and end; 401 when there is none (or it ended)",
    access: "anonymous",
    answers: {
      200: { description: "the session", schema: sessionAnswer },
      401: { description: "no live session", schema: object({ error: string() }) },
    },
    handle: async ({ req }, ctx) => {
      const cookie = sessionCookie(req);
      const session = cookie === undefined ? undefined : await ctx.console.sessions.find(cookie);
      return session ? json(200, shown(session)) : json(401, { error: NO_SESSION });
    },
  }),
  route({
    id: "signOut",
    method: "DELETE",
    path: "/_sanyao/session",
    group: "console",
    summary: "Sign out: the session ends on the server (its cookie signs no one in again) and the cookie is cleared",
    access: "read",
    answers: { 200: { description: "signed out", schema: object({ signedOut: boolean() }) } },
    handle: async ({ req }, ctx) => {
      const cookie = sessionCookie(req);
      if (cookie !== undefined) await ctx.console.sessions.end(cookie);
      return json(200, { signedOut: true }, { "set-cookie": setCookie(req, "", 0) });
    },
  }),
];
