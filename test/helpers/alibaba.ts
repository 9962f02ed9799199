/** Alibaba's official clients pointed at a test server, unchanged but for the endpoint (alibaba-cloudauth.md §3). */
import Database from "better-sqlite3";
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import path from "node:path";
import { Client } from "pg";
import { rpcSignature, rpcStringToSign } from "../../src/aliyun/signatures";
import { digestKey } from "../../src/sources/digests";
import { RECORDS_FILE } from "../../src/store/sqlite/records-file";
import { rawRequest, type TestServer } from "./server";
import { PG_URL } from "./services";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const cloudauthSdk = require("@alicloud/cloudauth20190307");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const openapi = require("@alicloud/openapi-core");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const PopCore = require("@alicloud/pop-core");

export type Signing = "v3" | "v2";
export const SIGNINGS: Signing[] = ["v3", "v2"];

export interface AlibabaKey {
  secretId: string;
  secretKey: string;
}

/** The SDK's own exception fields (openapi-core's ClientError, ServerError, ThrottlingError). */
export interface AlibabaSdkError {
  name: string;
  code: string;
  statusCode: number;
  message: string;
  requestId: string;
  data: Record<string, unknown>;
}

export interface ResultObject {
  bizCode?: string;
  subCode?: string;
  ispName?: string;
}
export interface AlibabaAnswer {
  code: string;
  message: string;
  requestId: string;
  resultObject?: ResultObject;
}

/** @alicloud/cloudauth20190307 on openapi-core: V3 (its default) or V2 (signatureAlgorithm "v2"). */
export function cloudauth(port: number, key: AlibabaKey, signing: Signing) {
  const config = new openapi.$OpenApiUtil.Config({
    accessKeyId: key.secretId,
    accessKeySecret: key.secretKey,
    endpoint: `127.0.0.1:${port}`,
    protocol: "http",
    ...(signing === "v2" ? { signatureAlgorithm: "v2" } : {}),
  });
  const client = new cloudauthSdk.default(config);
  const call = async (action: string, fields: Record<string, string>): Promise<AlibabaAnswer> => {
    const method = action.charAt(0).toLowerCase() + action.slice(1);
    const request = new cloudauthSdk[`${action}Request`](fields);
    const response = await client[method](request);
    return response.body as AlibabaAnswer;
  };
  return { call };
}

/** @alicloud/pop-core's generic RPC client: GET (its default) or POST with everything in the form body. */
export function popCore(port: number, key: AlibabaKey) {
  const client = new PopCore({
    accessKeyId: key.secretId,
    accessKeySecret: key.secretKey,
    endpoint: `http://127.0.0.1:${port}`,
    apiVersion: "2019-03-07",
  });
  return (action: string, params: Record<string, string>, method: "GET" | "POST") =>
    client.request(action, params, { method }) as Promise<Record<string, unknown>>;
}

export const md5 = (text: string): string => createHash("md5").update(text, "utf8").digest("hex");

/** The SDK's request fields from Alibaba's parameter names (camelCase). */
export function fieldsOf(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), v]));
}

export interface Recorded {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** A pass-through in front of the server that keeps each request's bytes, to replay one as a client would. */
export async function recordingProxy(targetPort: number): Promise<{ port: number; recorded: Recorded[]; close(): Promise<void> }> {
  const recorded: Recorded[] = [];
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const headers: Array<[string, string]> = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i] ?? "";
        if (name.toLowerCase() !== "transfer-encoding" && name.toLowerCase() !== "connection")
          headers.push([name, req.rawHeaders[i + 1] ?? ""]);
      }
      recorded.push({ method: req.method ?? "", target: req.url ?? "/", headers, body });
      const out = http.request(
        { host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: Object.fromEntries(headers), setHost: false },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = proxy.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { port, recorded, close: () => new Promise((resolve) => proxy.close(() => resolve())) };
}

/**
 * Makes `phone`'s record as an import before migration 17 left it: its md5 digest row without a name digest, written
 * straight into the store's tables (records.db, or the scale-out schema), as an upgraded installation holds it.
 */
export async function forgetNameDigest(server: TestServer, phone: string): Promise<void> {
  const key = digestKey(server.installation.keyring, "md5", md5(phone));
  if (server.backend === "sqlite") {
    const db = new Database(path.join(server.dataDir, RECORDS_FILE));
    try {
      const changed = db.prepare("UPDATE record_digests SET name_digest = NULL WHERE digest_key = ?").run(key).changes;
      if (changed !== 1) throw new Error(`${changed} digest rows changed`);
    } finally {
      db.close();
    }
    return;
  }
  const pg = new Client({ connectionString: PG_URL });
  await pg.connect();
  try {
    const schema = server.env.SANYAO_DATABASE_SCHEMA ?? "";
    const res = await pg.query(`UPDATE ${schema}.record_digests SET name_digest = NULL WHERE digest_key = $1`, [key]);
    if (res.rowCount !== 1) throw new Error(`${res.rowCount} digest rows changed`);
  } finally {
    await pg.end();
  }
}

export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** A V2 (RPC HMAC-SHA1) POST as NPM-CORE sends it, signed here: common parameters in the query, the fields in a form body. */
export function v2Post(
  port: number,
  key: AlibabaKey,
  action: string,
  fields: ReadonlyArray<readonly [string, string]>,
  o: { timestampMs?: number; nonce?: string; secret?: string } = {},
) {
  const common: Array<[string, string]> = [
    ["AccessKeyId", key.secretId],
    ["Action", action],
    ["Format", "json"],
    ["SignatureMethod", "HMAC-SHA1"],
    ["SignatureNonce", o.nonce ?? randomUUID()],
    ["SignatureVersion", "1.0"],
    ["Timestamp", isoSeconds(o.timestampMs ?? Date.now())],
    ["Version", "2019-03-07"],
  ];
  const signature = rpcSignature(rpcStringToSign("POST", new Map([...common, ...fields])), o.secret ?? key.secretKey);
  const query = new URLSearchParams([...common, ["Signature", signature] as [string, string]]).toString();
  const body = new URLSearchParams(fields.map(([k, v]): [string, string] => [k, v])).toString();
  return rawRequest(port, {
    method: "POST",
    target: `/?${query}`,
    headers: { host: `127.0.0.1:${port}`, "content-type": "application/x-www-form-urlencoded", "x-acs-action": action },
    body,
  });
}

/** A raw answer's JSON body as a record, for its Code. */
export const bodyOf = (res: { json: unknown }) => res.json as Record<string, unknown>;
