/**
 * The API 3.0 client under FaceIdClient and KmsClient: signs (TC3 by default, v1 on request), sends over a
 * keep-alive agent with a timeout, turns `Response.Error` into TencentCloudError, and — only when asked —
 * paces requests and retries the transient failures with exponential backoff and full jitter.
 * Nothing here is specific to sanyao: the same client talks to Tencent Cloud.
 */
import { randomInt, randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { ClientNetworkError, TencentCloudError } from "./errors";
import { Pacer } from "./pacer";
import { flatten, signTc3, signV1 } from "./signer";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const REQUEST_CLIENT = `SANYAO_NODEJS_${(require("../../../package.json") as { version: string }).version}`;

export type SignMethod = "TC3-HMAC-SHA256" | "HmacSHA256" | "HmacSHA1";

/**
 * What is retried: answers that say they were not charged (RequestLimitExceeded, InternalError, ServiceUnavailable,
 * and the action's transient results such as -11), and network errors where the request provably never reached
 * the server (connection refused). A network error after the request may have arrived is not resent unless
 * `resendMaybeServed` says so: its answer is unknown, and a charged action may have been charged.
 */
export interface RetryOptions {
  /** attempts in all, the first included (default 3) */
  attempts?: number;
  /** also resend after a network error that may have followed a served request (default false; for idempotent calls) */
  resendMaybeServed?: boolean;
  /** the first backoff's upper bound, ms (default 200); doubled for each further attempt */
  baseDelayMs?: number;
  /** cap on one backoff, ms (default 5000) */
  maxDelayMs?: number;
}

export interface ClientOptions {
  credential: { secretId: string; secretKey: string; token?: string };
  /** e.g. ap-guangzhou; required by KMS, ignored by PhoneVerification */
  region?: string;
  /** host[:port] or a URL; default the product's Tencent Cloud endpoint over HTTPS */
  endpoint?: string;
  /** default TC3-HMAC-SHA256 (JSON POST); HmacSHA256 and HmacSHA1 sign a form POST the v1 way */
  signMethod?: SignMethod;
  language?: "zh-CN" | "en-US";
  /** per request, default 60 s */
  timeoutMs?: number;
  /** default: a keep-alive agent of this client */
  agent?: http.Agent;
  /** off unless given: retries on RequestLimitExceeded, network errors and transient results */
  retry?: RetryOptions;
  /** off unless given: at most this many requests per second from this client (20 is the service's limit) */
  pace?: number;
}

export interface Product {
  service: string;
  version: string;
  defaultEndpoint: string;
}

export type ApiResponse<T> = T & { RequestId: string };

const RETRYABLE_CODES = new Set(["RequestLimitExceeded", "InternalError", "ServiceUnavailable"]);
/** Errors raised before a connection existed: nothing of the request can have reached the server. */
const NEVER_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export class ApiClient {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly pacer: Pacer | undefined;

  constructor(
    protected readonly product: Product,
    protected readonly options: ClientOptions,
  ) {
    const endpoint = options.endpoint ?? product.defaultEndpoint;
    this.url = new URL(/^https?:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`);
    const Agent = this.url.protocol === "http:" ? http.Agent : https.Agent;
    this.agent = options.agent ?? new Agent({ keepAlive: true, maxSockets: 64 });
    this.pacer = options.pace ? new Pacer(options.pace) : undefined;
  }

  /** Sends `action`, retrying as configured; `transient` marks answers worth another attempt (e.g. Result -11). */
  protected async request<T>(action: string, params: object, transient?: (response: ApiResponse<T>) => boolean): Promise<ApiResponse<T>> {
    const attempts = this.options.retry ? Math.max(1, this.options.retry.attempts ?? 3) : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.send<T>(action, params);
        if (attempt < attempts && transient?.(response)) {
          await this.backoff(attempt);
          continue;
        }
        return response;
      } catch (err) {
        const retryable =
          (err instanceof ClientNetworkError && (!err.maybeServed || this.options.retry?.resendMaybeServed === true)) ||
          (err instanceof TencentCloudError && RETRYABLE_CODES.has(err.code));
        if (!retryable || attempt >= attempts) throw err;
        await this.backoff(attempt);
      }
    }
  }

  private backoff(attempt: number): Promise<void> {
    const base = this.options.retry?.baseDelayMs ?? 200;
    const cap = this.options.retry?.maxDelayMs ?? 5000;
    const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
    return new Promise((r) => setTimeout(r, randomInt(0, Math.max(1, ceiling))));
  }

  private async send<T>(action: string, params: object): Promise<ApiResponse<T>> {
    await this.pacer?.wait();
    const { credential, region, language } = this.options;
    const signMethod = this.options.signMethod ?? "TC3-HMAC-SHA256";
    const timestamp = Math.floor(Date.now() / 1000);
    const traceId = randomUUID();
    let body: string;
    let headers: Record<string, string>;
    if (signMethod === "TC3-HMAC-SHA256") {
      body = JSON.stringify(params);
      headers = signTc3({
        ...credential,
        service: this.product.service,
        host: this.url.host,
        action,
        version: this.product.version,
        region,
        language,
        timestamp,
        body,
        requestClient: REQUEST_CLIENT,
      });
    } else {
      body = signV1({
        ...credential,
        algorithm: signMethod,
        host: this.url.host,
        action,
        version: this.product.version,
        region,
        language,
        timestamp,
        nonce: randomInt(1, 2 ** 31),
        params: flatten(params),
        requestClient: REQUEST_CLIENT,
      }).toString();
      headers = { Host: this.url.host, "Content-Type": "application/x-www-form-urlencoded" };
    }
    headers["X-TC-TraceId"] = traceId;
    headers["Content-Length"] = String(Buffer.byteLength(body));
    const answer = await this.transport(headers, body);
    const envelope = answer.json as { Response?: ApiResponse<T> & { Error?: { Code: string; Message: string } } } | undefined;
    if (!envelope?.Response) throw new ClientNetworkError("The answer is not an API 3.0 envelope.", answer.status);
    const error = envelope.Response.Error;
    if (error) throw new TencentCloudError(error.Code, error.Message, envelope.Response.RequestId, answer.traceId);
    return envelope.Response;
  }

  private transport(headers: Record<string, string>, body: string): Promise<{ status: number; json: unknown; traceId: string }> {
    const transport = this.url.protocol === "http:" ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        this.url,
        { method: "POST", headers, agent: this.agent, timeout: this.options.timeoutMs ?? 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err) => reject(new ClientNetworkError(err.message, res.statusCode, { cause: err })));
          res.on("end", () => {
            if (res.statusCode !== 200) {
              return reject(new ClientNetworkError(`HTTP ${res.statusCode} ${res.statusMessage ?? ""}`.trim(), res.statusCode));
            }
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
              return reject(new ClientNetworkError("The answer is not JSON.", res.statusCode));
            }
            const traceId = res.headers["x-tc-traceid"];
            resolve({ status: res.statusCode, json, traceId: typeof traceId === "string" ? traceId : "" });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (err: NodeJS.ErrnoException) => {
        const neverSent = err.code !== undefined && NEVER_SENT.has(err.code);
        reject(new ClientNetworkError(`The request to ${this.url.origin} failed: ${err.message}`, undefined, { cause: err }, !neverSent));
      });
      req.end(body);
    });
  }

  /** Closes the keep-alive connections of this client's own agent. */
  close(): void {
    if (!this.options.agent) this.agent.destroy();
  }
}
