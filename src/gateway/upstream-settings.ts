/**
 * The upstream of gateway mode: its URL and the company's SecretId/SecretKey, the key sealed with the installation
 * secret in the store's meta. Set by `sanyao upstream set`; never printed, never logged.
 */
import fs from "node:fs";
import path from "node:path";
import { packageRoot } from "../common/paths";
import type { Keyring } from "../common/keyring";
import type { MetaRows } from "../store/ports";
import { type StoredName, storedFields } from "../common/stored-json";

export const UPSTREAM_META = "upstream/v1";
export const TENCENT_FACEID_URL = "https://faceid.tencentcloudapi.com";

/** The upstream's public keys for field encryption, as base64 of their PEM (what `sanyao encryption public-keys` prints). */
export interface UpstreamPublicKeys {
  rsa: string;
  sm2: string;
}

export interface UpstreamSettings {
  url: string;
  secretId: string;
  secretKey: string;
  publicKeys: UpstreamPublicKeys;
}

interface Stored {
  url: string;
  secretId: string;
  /** base64 of the sealed SecretKey */
  secretKey: string;
  /** absent: Tencent's published keys */
  publicKeys?: UpstreamPublicKeys;
}

/** Tencent's published keys (tables/tencent-public-keys), the default for an upstream that is Tencent Cloud. */
export function tencentPublicKeys(): UpstreamPublicKeys {
  const read = (file: string) =>
    Buffer.from(fs.readFileSync(path.join(packageRoot, "tables", "tencent-public-keys", file))).toString("base64");
  return { rsa: read("tc_rsa_pub.pem"), sm2: read("tc_sm2_pub.pem") };
}

function checkedKey(value: string, name: string): string {
  const pem = value.includes("-----BEGIN") ? value : Buffer.from(value, "base64").toString("utf8");
  if (!/-----BEGIN [A-Z0-9 ]*PUBLIC KEY-----/.test(pem))
    throw new UpstreamInputError(`The ${name} public key is a PEM text or base64 of one (sanyao encryption public-keys prints them).`);
  return Buffer.from(pem).toString("base64");
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

type UpstreamInput = Omit<UpstreamSettings, "publicKeys"> & { publicKeys?: Partial<UpstreamPublicKeys> };

/** Checks the settings as they would be saved (a seed checks everything before it writes): what is stored beside the key. */
export function checkUpstream(s: UpstreamInput): Omit<Stored, "secretKey"> {
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(s.secretId))
    throw new UpstreamInputError("The upstream SecretId is 8 to 128 letters, digits, '-' or '_'.");
  if (s.secretKey.trim() !== s.secretKey || s.secretKey.length < 16) {
    throw new UpstreamInputError("The upstream SecretKey has at least 16 characters and no surrounding whitespace.");
  }
  const checked: Omit<Stored, "secretKey"> = { url: checkedUrl(s.url), secretId: s.secretId };
  if (s.publicKeys?.rsa || s.publicKeys?.sm2) {
    if (!s.publicKeys.rsa || !s.publicKeys.sm2)
      throw new UpstreamInputError("Give both upstream public keys, RSA and SM2, or neither (Tencent's).");
    checked.publicKeys = { rsa: checkedKey(s.publicKeys.rsa, "RSA"), sm2: checkedKey(s.publicKeys.sm2, "SM2") };
  }
  return checked;
}

export async function saveUpstream(meta: MetaRows, keyring: Keyring, s: UpstreamInput): Promise<void> {
  const stored: Stored = { ...checkUpstream(s), secretKey: keyring.seal(s.secretKey, UPSTREAM_META).toString("base64") };
  await meta.set(UPSTREAM_META, JSON.stringify(stored));
}

const STORED_UPSTREAM: StoredName = {
  what: "The upstream (sanyao upstream set)",
  fix: "Set it again with `sanyao upstream set`, or turn gateway mode off with `sanyao upstream clear`.",
};

/** The stored settings, narrowed: a damaged row is one StoredDataError, never a field read as undefined. */
function storedUpstream(text: string): Stored {
  const f = storedFields(text, STORED_UPSTREAM);
  const keys = f.optionalObject("publicKeys");
  return {
    url: f.string("url"),
    secretId: f.string("secretId"),
    secretKey: f.string("secretKey"),
    ...(keys && { publicKeys: { rsa: keys.string("rsa"), sm2: keys.string("sm2") } }),
  };
}

export async function loadUpstream(meta: MetaRows, keyring: Keyring): Promise<UpstreamSettings | undefined> {
  const text = await meta.get(UPSTREAM_META);
  if (!text) return undefined;
  const stored = storedUpstream(text);
  return {
    url: stored.url,
    secretId: stored.secretId,
    secretKey: keyring.open(Buffer.from(stored.secretKey, "base64"), UPSTREAM_META),
    publicKeys: stored.publicKeys ?? tencentPublicKeys(),
  };
}

/** What may be shown of the settings: never the key. */
export async function describeUpstream(meta: MetaRows): Promise<{ url: string; secretId: string; publicKeys: string } | undefined> {
  const text = await meta.get(UPSTREAM_META);
  if (!text) return undefined;
  const { url, secretId, publicKeys } = storedUpstream(text);
  return { url, secretId, publicKeys: publicKeys ? "given with upstream set" : "Tencent's published keys" };
}
