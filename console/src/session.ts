/** The browser's session: signing in with a token (exchanged for an HttpOnly cookie), finding it again, signing out. */
import { call, useSessionToken } from "./api";
import { field, text } from "./json";

export type Role = "operator" | "read-only";

export interface Session {
  role: Role;
  expiresAt: string;
}

function sessionOf(answer: unknown): Session {
  const csrf = text(field(answer, "csrf"));
  useSessionToken(csrf || undefined);
  return { role: field(answer, "role") === "operator" ? "operator" : "read-only", expiresAt: text(field(answer, "expiresAt")) };
}

/** the session the cookie holds, if the server still knows it */
export async function currentSession(): Promise<Session | undefined> {
  try {
    return sessionOf(await call("/session", { signIn: true }));
  } catch {
    return undefined;
  }
}

export async function signIn(token: string): Promise<Session> {
  return sessionOf(await call("/session", { method: "POST", body: { token }, signIn: true }));
}

export async function signOut(): Promise<void> {
  try {
    await call("/session", { method: "DELETE", signIn: true });
  } finally {
    useSessionToken(undefined);
  }
}
