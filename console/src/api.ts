/**
 * The console's only way to the server: the operations API under /_sanyao, with the session cookie the browser
 * keeps (HttpOnly: this code never sees it) and, on every change, the CSRF token the session answered. The token
 * lives in memory only, never in browser storage.
 */
import { t } from "./i18n";
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

/** what went wrong, in words a page shows */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

let csrf: string | undefined;
let onSignedOut: () => void = () => {};

export function useSessionToken(token: string | undefined): void {
  csrf = token;
}

/** the session is gone: its CSRF token goes with it (a later session answers its own), then the page is told */
function signedOut(): void {
  csrf = undefined;
  onSignedOut();
}

/** what to do when the server no longer knows the session (expired, revoked) */
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

/** the error's message, in the one shape the API uses ({"error": "..."}, or {"error": {"message"}}) */
function errorMessage(body: unknown, status: number): string {
  const error = field(body, "error");
  return text(error) || text(field(error, "message")) || t("api.httpStatus", { status });
}

export interface CallOptions {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  body?: unknown;
  /** a 401 here is an answer (the sign-in form), not a lost session */
  signIn?: boolean;
}

export async function call(path: string, options: CallOptions = {}): Promise<unknown> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET" && csrf !== undefined) headers["X-Sanyao-CSRF"] = csrf;
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${API}${path}`, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  const answer: unknown = await response.json().catch(() => undefined);
  if (response.status === 401 && !options.signIn) signedOut();
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

/**
 * A file sent as the body, with the upload's progress: fetch tells none, so XMLHttpRequest (same cookie, same CSRF
 * header). Answers the parsed body as `call` does.
 */
export function upload(path: string, file: Blob, type: string, onProgress: (sent: number, total: number) => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `${API}${path}`);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("Content-Type", type);
    if (csrf !== undefined) request.setRequestHeader("X-Sanyao-CSRF", csrf);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    request.onerror = () => reject(new ApiError(0, t("api.uploadLost")));
    request.onload = () => {
      let answer: unknown;
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        answer = undefined;
      }
      if (request.status === 401) signedOut();
      if (request.status >= 200 && request.status < 300) resolve(answer);
      else reject(new ApiError(request.status, errorMessage(answer, request.status)));
    };
    request.send(file);
  });
}
