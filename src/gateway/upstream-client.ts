/**
 * Calls to the upstream: each signed again with TC3 and the company's key, over pooled keep-alive connections,
 * within a time budget. Outcomes tell apart an answer, an error envelope, a call that surely did not reach the
 * upstream, and one that may have (sent, then no answer): only that last one may have cost money unseen.
 */
import http from "node:http";
import https from "node:https";
import { isPlainObject } from "../api3/params";
import { signTc3 } from "../client/signer";
import type { UpstreamSettings } from "./upstream-settings";

export type UpstreamOutcome =
  | { kind: "answer"; fields: Record<string, unknown>; requestId: string }
  | { kind: "error"; code: string; requestId: string }
  /** refused before anything was sent (connection refused, no such host, not sent within the budget) */
  | { kind: "failed"; reason: string }
  /**
   * sent, then no usable answer: none within the budget, a dropped connection, or a non-200 status (a proxy's 502
   * may come after the upstream answered): the upstream may have answered, and charged
   */
  | { kind: "lost"; reason: string };

export interface UpstreamCall {
  action: string;
  version: string;
  region: string | undefined;
  language: "zh-CN" | "en-US";
  params: unknown;
  timeoutMs: number;
}

export class UpstreamClient {
  private readonly agent: http.Agent;
  private readonly target: URL;
  /** calls sent and not yet settled */
  private inFlight = 0;
  /** replaced by another client: its connections close once its calls in flight have settled */
  private retired = false;

  constructor(
    private readonly settings: UpstreamSettings,
    private readonly clock: () => number = Date.now,
  ) {
    this.target = new URL(settings.url);
    const options = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16 };
    this.agent = this.target.protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
  }

  get url(): string {
    return this.settings.url;
  }

  get publicKeys(): UpstreamSettings["publicKeys"] {
    return this.settings.publicKeys;
  }

  call(c: UpstreamCall): Promise<UpstreamOutcome> {
    const body = JSON.stringify(c.params);
    const headers = signTc3({
      secretId: this.settings.secretId,
      secretKey: this.settings.secretKey,
      service: "faceid",
      host: this.target.host,
      action: c.action,
      version: c.version,
      region: c.region,
      language: c.language,
      timestamp: Math.floor(this.clock() / 1000),
      requestClient: "sanyao-gateway",
      body,
    });
    const transport = this.target.protocol === "https:" ? https : http;
    this.inFlight++;
    return new Promise((resolve) => {
      let sent = false;
      let settled = false;
      const done = (outcome: UpstreamOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (--this.inFlight === 0 && this.retired) this.agent.destroy();
        resolve(outcome);
      };
      const req = transport.request(
        this.target,
        { method: "POST", agent: this.agent, headers: { ...headers, "Content-Length": Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (err) => done({ kind: "lost", reason: err.message }));
          res.on("end", () => {
            // A status that came once the call was out says nothing of whether the upstream answered it (and charged).
            if (res.statusCode !== 200) {
              const reason = `HTTP ${res.statusCode}`;
              return done(sent ? { kind: "lost", reason: `${reason} after the call was sent` } : { kind: "failed", reason });
            }
            done(parseAnswer(Buffer.concat(chunks).toString("utf8")));
          });
        },
      );
      const timer = setTimeout(() => {
        done(
          sent ? { kind: "lost", reason: `no answer within ${c.timeoutMs} ms` } : { kind: "failed", reason: "not sent within the budget" },
        );
        req.destroy();
      }, c.timeoutMs);
      req.on("finish", () => {
        sent = true;
      });
      req.on("error", (err) => done(sent ? { kind: "lost", reason: err.message } : { kind: "failed", reason: err.message }));
      req.end(body);
    });
  }

  /**
   * Replaced (`upstream set`): its idle connections close now, the others once their calls have settled — a call the
   * upstream is answering is paid for, and its answer must still come in.
   */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.agent.destroy();
  }

  /** Closes every connection, calls in flight or not (the server has stopped answering them). */
  close(): void {
    this.agent.destroy();
  }
}

function parseAnswer(text: string): UpstreamOutcome {
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    return { kind: "lost", reason: "the answer is not JSON" };
  }
  const response = isPlainObject(envelope) ? envelope.Response : undefined;
  if (!isPlainObject(response)) return { kind: "lost", reason: "the answer has no Response" };
  const { RequestId, Error: error, ...fields } = response;
  const requestId = typeof RequestId === "string" ? RequestId : "";
  if (isPlainObject(error)) {
    return { kind: "error", code: typeof error.Code === "string" ? error.Code : "InternalError", requestId };
  }
  return { kind: "answer", fields, requestId };
}
