/**
 * The console's only way to the server: the operations API under /_sanyao, with the session cookie the browser
 * keeps (HttpOnly: this code never sees it) and, on every change, the CSRF token the session answered. The token
 * lives in memory only, never in browser storage.
 */
import { field, text } from "./json";

export const API = "/_sanyao";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrf: string | undefined;
let onSignedOut: () => void = () => {};

export function useSessionToken(token: string | undefined): void {
  csrf = token;
}

/** what to do when the server no longer knows the session (expired, revoked) */
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

/** the error's message, in the one shape the API uses ({"error": "..."}, or {"error": {"message"}}) */
function errorMessage(body: unknown, status: number): string {
  const error = field(body, "error");
  return text(error) || text(field(error, "message")) || `HTTP ${status}`;
}

export interface CallOptions {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  body?: unknown;
  /** a body sent as is (a CSV file), with its type */
  raw?: { data: Blob; type: string };
  /** a 401 here is an answer (the sign-in form), not a lost session */
  signIn?: boolean;
}

export async function call(path: string, options: CallOptions = {}): Promise<unknown> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET" && csrf !== undefined) headers["X-Sanyao-CSRF"] = csrf;
  let body: BodyInit | undefined;
  if (options.raw) {
    headers["Content-Type"] = options.raw.type;
    body = options.raw.data;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${API}${path}`, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  const answer: unknown = await response.json().catch(() => undefined);
  if (response.status === 401 && !options.signIn) onSignedOut();
  if (!response.ok) throw new ApiError(response.status, errorMessage(answer, response.status));
  return answer;
}

/** a query string of the values given (empty ones left out) */
export function query(values: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== "" && value !== false) params.set(name, String(value));
  }
  const q = params.toString();
  return q ? `?${q}` : "";
}
