/**
 * How commands that act on a running server reach it: its operations API, found by --endpoint or the server's own
 * settings, with the operator token (or the read-only one) from --token, the environment or the data directory.
 * Answers are narrowed by the schemas the route table documents them with.
 */
import { type Command, Option } from "commander";
import { loadConfig } from "../app/config";
import { readAdminToken } from "../operations/admin-token";
import { InputError } from "../common/input-error";
import type { Method } from "../operations/route";
import type { Schema } from "../operations/schema";
import { type DataOption, endpoint, notListening, storageOptions } from "./options";
import { UsageError } from "./output";

export interface OpsOptions extends DataOption {
  endpoint?: string;
  token?: string;
}

/** --endpoint and --token: where the running server's operations API is, and the token to present. */
export function opsOptions(command: Command): Command {
  return storageOptions(command)
    .addOption(
      new Option(
        "--endpoint <url>",
        "the running server's operations API (host:port means http://host:port); default: the operations listener of " +
          "SANYAO_OPS_PORT (and SANYAO_OPS_HOST), else SANYAO_ENDPOINT, else http://127.0.0.1:8080",
      ).argParser(endpoint),
    )
    .addOption(
      new Option(
        "--token <token>",
        "the operator token (default: SANYAO_ADMIN_TOKEN, else --data's admin-token file; for reading only, the read-only token does)",
      ),
    );
}

/**
 * Where the operations API answers: --endpoint; else the operations listener the server's own settings name
 * (SANYAO_OPS_PORT, on SANYAO_OPS_HOST — any address reached on this machine); else the API's endpoint.
 */
function opsEndpoint(opts: OpsOptions): string {
  if (opts.endpoint) return opts.endpoint;
  const port = process.env.SANYAO_OPS_PORT;
  if (port && /^\d{1,5}$/.test(port) && Number(port) > 0) {
    const host = process.env.SANYAO_OPS_HOST || "127.0.0.1";
    const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
    return `http://${reachable}:${port}`;
  }
  return endpoint(process.env.SANYAO_ENDPOINT || "http://127.0.0.1:8080");
}

function tokenFor(opts: OpsOptions): string {
  const env = process.env;
  const dataDir = () => loadConfig({ dataDir: opts.data }).dataDir;
  const token =
    opts.token ||
    env.SANYAO_ADMIN_TOKEN ||
    readAdminToken(dataDir()) ||
    env.SANYAO_READ_ONLY_TOKEN ||
    readAdminToken(dataDir(), "read-only");
  if (!token) {
    throw new UsageError(
      "No operator token: give --token, set SANYAO_ADMIN_TOKEN, or point --data at the installation (its admin-token file).",
    );
  }
  return token;
}

/**
 * Calls one route of the running server's operations API and narrows its answer by `answer`. A refusal (4xx) is a
 * UsageError with the server's words; a failure of the server (5xx) is an error of its own (exit status 1).
 */
export async function callOperations<T>(opts: OpsOptions, method: Method, path: string, answer: Schema<T>, body?: unknown): Promise<T> {
  const base = opsEndpoint(opts);
  const url = `${base.replace(/\/+$/, "")}/_sanyao/${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${tokenFor(opts)}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch {
    throw new UsageError(notListening(base));
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const error =
      typeof parsed === "object" && parsed !== null && "error" in parsed && typeof parsed.error === "string" ? parsed.error : undefined;
    const message = error ?? `The operations API at ${base} answered HTTP ${res.status}.`;
    throw res.status >= 500 ? new Error(message) : new UsageError(message);
  }
  try {
    return answer.parse(parsed, "", false);
  } catch (err) {
    if (err instanceof InputError) {
      throw new Error(
        `The operations API at ${base} answered ${method} /_sanyao/${path} in a shape this CLI does not know (${err.message})`,
      );
    }
    throw err;
  }
}
