/**
 * The replay window's memory (alibaba-cloudauth.md §5, §8.9): each SignatureNonce an AccessKeyId signed with in the
 * last 15 minutes. Kept by a hash of the pair, so a long nonce costs no more than a short one. In one process
 * (NonceWindow: bounded, entries expire by the call's clock and past MAX_NONCES the oldest go first — a request older
 * than the timestamp window is refused by its timestamp anyway), or across every instance in scale-out
 * (SharedNonceWindow, on Redis).
 */
import { createHash } from "node:crypto";
import type { SeenOnce } from "../limits/contract";

export const NONCE_WINDOW_MS = 15 * 60_000;
const MAX_NONCES = 200_000;

export interface Nonces {
  /** true the first time (accessKeyId, nonce) is seen within the window, false for a replay */
  use(accessKeyId: string, nonce: string, nowMs: number): Promise<boolean>;
}

const keyOf = (accessKeyId: string, nonce: string) => createHash("sha256").update(`${accessKeyId}\n${nonce}`).digest("base64url");

export class NonceWindow implements Nonces {
  /** key → when it expires; Map keeps insertion order, which is time order but for a moved clock */
  private readonly seen = new Map<string, number>();

  async use(accessKeyId: string, nonce: string, nowMs: number): Promise<boolean> {
    this.expire(nowMs);
    const key = keyOf(accessKeyId, nonce);
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

export class SharedNonceWindow implements Nonces {
  constructor(private readonly store: SeenOnce) {}

  use(accessKeyId: string, nonce: string, nowMs: number): Promise<boolean> {
    return this.store.firstUse(`nonce:${keyOf(accessKeyId, nonce)}`, nowMs, NONCE_WINDOW_MS);
  }
}
