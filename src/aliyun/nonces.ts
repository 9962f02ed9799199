/**
 * The replay window's memory (alibaba-cloudauth.md §5, §8.9): each SignatureNonce an AccessKeyId signed with in the
 * last 15 minutes. Bounded: entries expire by the call's clock, and past MAX_NONCES the oldest go first (a request
 * older than the timestamp window is refused by its timestamp anyway). Kept per process.
 */
export const NONCE_WINDOW_MS = 15 * 60_000;
const MAX_NONCES = 200_000;

export class NonceWindow {
  /** key → when it expires; Map keeps insertion order, which is time order but for a moved clock */
  private readonly seen = new Map<string, number>();

  /** true the first time (accessKeyId, nonce) is seen within the window, false for a replay */
  use(accessKeyId: string, nonce: string, nowMs: number): boolean {
    this.expire(nowMs);
    const key = `${accessKeyId}\n${nonce}`;
    const until = this.seen.get(key);
    if (until !== undefined && until > nowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, nowMs + NONCE_WINDOW_MS);
    return true;
  }

  private expire(nowMs: number): void {
    for (const [key, until] of this.seen) {
      if (until > nowMs && this.seen.size < MAX_NONCES) break;
      this.seen.delete(key);
    }
  }
}
