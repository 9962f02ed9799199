/**
 * Alibaba's percent-encoding (alibaba-cloudauth.md §2.2 step 2): RFC 3986, UTF-8, upper-case hex, keeping only
 * A-Z a-z 0-9 - _ . ~ — what both signatures canonicalise with, whatever encoding the wire used.
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
