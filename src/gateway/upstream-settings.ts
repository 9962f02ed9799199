/**
 * The upstream of gateway mode: its URL and the company's SecretId/SecretKey, the key sealed with the installation
 * secret in the store's meta. Set by `sanyao upstream set`; never printed, never logged.
 */
import type { Keyring } from "../common/keyring";
import type { MetaRows } from "../store/ports";

export const UPSTREAM_META = "upstream/v1";
export const TENCENT_FACEID_URL = "https://faceid.tencentcloudapi.com";

export interface UpstreamSettings {
  url: string;
  secretId: string;
  secretKey: string;
}

interface Stored {
  url: string;
  secretId: string;
  /** base64 of the sealed SecretKey */
  secretKey: string;
}

export class UpstreamInputError extends Error {}

export function checkedUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UpstreamInputError("The upstream URL is an http:// or https:// URL, such as https://faceid.tencentcloudapi.com.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UpstreamInputError("The upstream URL is http:// or https://.");
  if (url.pathname !== "/" || url.search !== "")
    throw new UpstreamInputError("The upstream URL has no path or query: API 3.0 calls go to /.");
  return url.origin;
}

export async function saveUpstream(meta: MetaRows, keyring: Keyring, s: UpstreamSettings): Promise<void> {
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(s.secretId))
    throw new UpstreamInputError("The upstream SecretId is 8 to 128 letters, digits, '-' or '_'.");
  if (s.secretKey.trim() !== s.secretKey || s.secretKey.length < 16) {
    throw new UpstreamInputError("The upstream SecretKey has at least 16 characters and no surrounding whitespace.");
  }
  const stored: Stored = {
    url: checkedUrl(s.url),
    secretId: s.secretId,
    secretKey: keyring.seal(s.secretKey, UPSTREAM_META).toString("base64"),
  };
  await meta.set(UPSTREAM_META, JSON.stringify(stored));
}

export async function loadUpstream(meta: MetaRows, keyring: Keyring): Promise<UpstreamSettings | undefined> {
  const text = await meta.get(UPSTREAM_META);
  if (!text) return undefined;
  const stored = JSON.parse(text) as Stored;
  return { url: stored.url, secretId: stored.secretId, secretKey: keyring.open(Buffer.from(stored.secretKey, "base64"), UPSTREAM_META) };
}

/** What may be shown of the settings: never the key. */
export async function describeUpstream(meta: MetaRows): Promise<{ url: string; secretId: string } | undefined> {
  const text = await meta.get(UPSTREAM_META);
  if (!text) return undefined;
  const { url, secretId } = JSON.parse(text) as Stored;
  return { url, secretId };
}
