/**
 * The console's sign-in sessions. The browser holds a random cookie; the store holds only a SHA-256 digest of it
 * bound to the token it signed in with, so a copy of the store signs no one in and a session lasts only as long as
 * its token: once the server runs with another token (rotated), the digest of the old session is found under none of
 * the tokens in force, and the cookie is no session. The CSRF token is derived from the cookie (another digest), so
 * it is never stored either. A session ends when it has been idle too long, when it is too old, when it is signed
 * out, or when its token is no longer in force.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Tokens } from "../operations/admin-token";
import type { SessionRow, SessionRows } from "../store/ports";

export type ConsoleRole = "operator" | "read-only";

/** Ended after this long without a request (the console polls every second while it is open). */
export const SESSION_IDLE_MS = 60 * 60_000;
/** Ended this long after sign-in, however busy. */
export const SESSION_MAX_MS = 12 * 60 * 60_000;
/** A session's last use is written at most this often: not one write per request. */
const TOUCH_EVERY_MS = 60_000;

export interface Session {
  role: ConsoleRole;
  csrf: string;
  /** ms: the earlier of the idle end and the absolute end, as of now */
  expiresAt: number;
}

/** The stored key of a session: the cookie's digest, bound to the token signed in with (the token is in no row). */
const digestOf = (cookie: string, token: string) => createHash("sha256").update(`session\0${cookie}\0`).update(token).digest();
const csrfOf = (cookie: string) => createHash("sha256").update(`csrf\0${cookie}`).digest("base64url");

/** A cookie value as this server makes them: 43 base64url characters (anything else is no session of ours). */
const COOKIE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export class Sessions {
  constructor(
    private readonly rows: SessionRows,
    private readonly clock: () => number,
    private readonly tokens: Tokens,
  ) {}

  /** The tokens in force, each with the role it signs in. */
  private inForce(): Array<{ role: ConsoleRole; token: string }> {
    const { operator, readOnly } = this.tokens;
    return [
      ...(operator === undefined ? [] : [{ role: "operator" as const, token: operator }]),
      ...(readOnly === undefined ? [] : [{ role: "read-only" as const, token: readOnly }]),
    ];
  }

  private expiry(createdAt: number, lastSeenAt: number): number {
    return Math.min(createdAt + SESSION_MAX_MS, lastSeenAt + SESSION_IDLE_MS);
  }

  /** A new session; the cookie goes to the browser and nowhere else. */
  async start(role: ConsoleRole): Promise<{ cookie: string; session: Session }> {
    const token = this.inForce().find((t) => t.role === role)?.token;
    if (token === undefined) throw new Error(`no ${role} token is in force to start a session with`);
    const now = this.clock();
    // Ended sessions are cleared as new ones begin: the table holds only live ones and a few stale.
    await this.rows.prune(now - SESSION_IDLE_MS, now - SESSION_MAX_MS);
    const cookie = randomBytes(32).toString("base64url");
    await this.rows.insert({ digest: digestOf(cookie, token), role, createdAt: now, lastSeenAt: now });
    return { cookie, session: { role, csrf: csrfOf(cookie), expiresAt: this.expiry(now, now) } };
  }

  /** The live session of this cookie, marked as used now; undefined when there is none (or it has ended). */
  async find(cookie: string): Promise<Session | undefined> {
    if (!COOKIE_SHAPE.test(cookie)) return undefined;
    const { digest, row } = await this.lookUp(cookie);
    if (!row || digest === undefined) return undefined;
    const now = this.clock();
    if (now >= this.expiry(row.createdAt, row.lastSeenAt)) {
      await this.rows.remove(digest);
      return undefined;
    }
    const lastSeenAt = now - row.lastSeenAt >= TOUCH_EVERY_MS ? now : row.lastSeenAt;
    if (lastSeenAt !== row.lastSeenAt) await this.rows.touch(digest, now);
    return { role: row.role, csrf: csrfOf(cookie), expiresAt: this.expiry(row.createdAt, lastSeenAt) };
  }

  /** Ends the session server-side: its cookie signs no one in again. */
  async end(cookie: string): Promise<void> {
    if (!COOKIE_SHAPE.test(cookie)) return;
    const { digest } = await this.lookUp(cookie);
    if (digest !== undefined) await this.rows.remove(digest);
  }

  /** The session row of this cookie under a token in force, signed in with that token's role. */
  private async lookUp(cookie: string): Promise<{ digest?: Buffer; row?: SessionRow }> {
    for (const { role, token } of this.inForce()) {
      const digest = digestOf(cookie, token);
      const row = await this.rows.get(digest);
      if (row?.role === role) return { digest, row };
    }
    return {};
  }
}
