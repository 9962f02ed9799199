/** Signed calls from tests, with the project's own signer (the official SDK has its own test file). */
import { signTc3 } from "../../src/client/signer";
import { hexDigest } from "../../src/sources/digests";
import { rawRequest, type RawResponse } from "./server";

export interface Key {
  secretId: string;
  secretKey: string;
}

export interface SignedCallOptions {
  action?: string;
  version?: string;
  service?: string;
  language?: "zh-CN" | "en-US";
  timestamp?: number;
  extraHeaders?: Record<string, string>;
  /** raw body text instead of JSON.stringify(params) */
  rawBody?: string;
}

export function callTc3(port: number, key: Key, params: unknown, o: SignedCallOptions = {}): Promise<RawResponse> {
  const body = o.rawBody ?? JSON.stringify(params);
  const host = `127.0.0.1:${port}`;
  const headers = signTc3({
    ...key,
    service: o.service ?? "faceid",
    host,
    action: o.action ?? "PhoneVerification",
    version: o.version ?? "2018-03-01",
    language: o.language,
    timestamp: o.timestamp ?? Math.floor(Date.now() / 1000),
    body,
  });
  return rawRequest(port, { method: "POST", target: "/", headers: { ...headers, ...o.extraHeaders }, body });
}

export async function verify(port: number, key: Key, params: Record<string, unknown>, o: SignedCallOptions = {}) {
  const res = await callTc3(port, key, params, o);
  return res.json.Response;
}

/** EncryptedPhoneVerification in md5 mode (EncryptionMode 1): found through the records' digest rows. */
export async function verifyByMd5(port: number, key: Key, p: { phone: string; name: string; idcard: string }) {
  const md5 = (value: string) => hexDigest("md5", value);
  return verify(
    port,
    key,
    { Phone: md5(p.phone), Name: md5(p.name), IdCard: md5(p.idcard), EncryptionMode: "1" },
    { action: "EncryptedPhoneVerification" },
  );
}
