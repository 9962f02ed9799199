/** One signed API 3.0 call over HTTP(S), resolving with the envelope's Response object. */
import http from "node:http";
import https from "node:https";
import { signTc3 } from "./signer";

export interface CallOptions {
  endpoint: string;
  secretId: string;
  secretKey: string;
  service: string;
  version: string;
  action: string;
  params: Record<string, unknown>;
  region?: string;
  language?: "zh-CN" | "en-US";
  timeoutMs?: number;
}

export interface CallResult {
  response: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export class CallError extends Error {}

/** Asks KMS for a 32-byte data key under `keyId` (GenerateDataKey, KeySpec AES_256). */
export async function generateDataKey(
  options: Omit<CallOptions, "service" | "version" | "action" | "params"> & { keyId: string; region: string },
): Promise<{ plaintext: string; ciphertextBlob: string; keyId: string }> {
  const { response } = await callApi({
    ...options,
    service: "kms",
    version: "2019-01-18",
    action: "GenerateDataKey",
    params: { KeyId: options.keyId, KeySpec: "AES_256" },
  });
  const error = response.Error as { Code: string; Message: string } | undefined;
  if (error) throw new CallError(`GenerateDataKey failed: ${error.Code}: ${error.Message}`);
  return { plaintext: response.Plaintext as string, ciphertextBlob: response.CiphertextBlob as string, keyId: response.KeyId as string };
}

export function callApi(options: CallOptions): Promise<CallResult> {
  const url = new URL(/^https?:\/\//.test(options.endpoint) ? options.endpoint : `https://${options.endpoint}`);
  const body = JSON.stringify(options.params);
  const headers = signTc3({
    secretId: options.secretId,
    secretKey: options.secretKey,
    service: options.service,
    host: url.host,
    action: options.action,
    version: options.version,
    region: options.region,
    language: options.language,
    timestamp: Math.floor(Date.now() / 1000),
    body,
  });
  const transport = url.protocol === "http:" ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      { method: "POST", headers: { ...headers, "Content-Length": Buffer.byteLength(body) }, timeout: options.timeoutMs ?? 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new CallError(`HTTP ${res.statusCode} ${res.statusMessage ?? ""}`.trim()));
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Response?: Record<string, unknown> };
            if (!parsed.Response) return reject(new CallError("The answer has no Response object."));
            resolve({ response: parsed.Response, headers: res.headers });
          } catch {
            reject(new CallError("The answer is not JSON."));
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new CallError("The request timed out.")));
    req.on("error", reject);
    req.end(body);
  });
}
