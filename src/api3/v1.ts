/** Signature v1, HmacSHA1 / HmacSHA256 (api3-protocol.md §4): shared by the verifier and our client. */
import { createHmac } from "node:crypto";

export type V1Algorithm = "HmacSHA1" | "HmacSHA256";

export function v1Algorithm(signatureMethod: string | undefined): V1Algorithm {
  return signatureMethod === "HmacSHA256" ? "HmacSHA256" : "HmacSHA1";
}

/** Method + Host + Path + "?" + sorted k=v pairs, values not URL-encoded. */
export function v1StringToSign(method: string, host: string, path: string, params: ReadonlyMap<string, string>): string {
  const keys = [...params.keys()].filter((k) => k !== "Signature").sort();
  return `${method}${host}${path}?${keys.map((k) => `${k}=${params.get(k)}`).join("&")}`;
}

export function v1Signature(algorithm: V1Algorithm, secretKey: string, toSign: string): Buffer {
  return createHmac(algorithm === "HmacSHA256" ? "sha256" : "sha1", secretKey)
    .update(toSign, "utf8")
    .digest();
}
