/**
 * The replay window's memory (alibaba-cloudauth.md §5, §8.9): each SignatureNonce an AccessKeyId signed with, kept
 * until its request's own timestamp can no longer be accepted, so no request is valid again once its nonce is
 * forgotten. Kept by a digest of the nonce, so a long nonce costs no more than a short one. In one process
 * (NonceWindow), or across every instance in scale-out (SharedNonceWindow, a sorted set per key on Redis).
 */
import { createHash } from "node:crypto";
import type { NonceVerdict, SeenOnce } from "../limits/contract";
import { TIMESTAMP_WINDOW_SECONDS } from "./authenticate";

export type { NonceVerdict } from "../limits/contract";

/**
 * When a nonce may be forgotten: its timestamp is accepted while the server's second is at most the window past it
 * (authenticate.ts), that is until one second after timestamp + window.
 */
export const rememberedUntil = (signedAtMs: number): number => signedAtMs + TIMESTAMP_WINDOW_SECONDS * 1000 + 1000;

export interface Nonces {
  /** "fresh" the first time (accessKeyId, nonce) is seen while its request could be valid, "replayed" after */
  use(accessKeyId: string, nonce: string, nowMs: number, signedAtMs: number): Promise<NonceVerdict>;
}

const digestOf = (text: string) => createHash("sha256").update(text).digest("base64url").slice(0, 22);

export class NonceWindow implements Nonces {
  /** AccessKeyId → nonce digest → when it may be forgotten */
  private readonly byKey = new Map<string, Map<string, number>>();
  /** when → the (AccessKeyId, digest) pairs that end then: timestamps are whole seconds, so few distinct ends */
  private readonly ending = new Map<number, Array<readonly [string, string]>>();
  private sweptSecond = Number.NaN;

  async use(accessKeyId: string, nonce: string, nowMs: number, signedAtMs: number): Promise<NonceVerdict> {
    this.sweep(nowMs);
    const digest = digestOf(nonce);
    let group = this.byKey.get(accessKeyId);
    const until = group?.get(digest);
    if (until !== undefined && until > nowMs) return "replayed";
    if (!group) {
      group = new Map();
      this.byKey.set(accessKeyId, group);
    }
    const ends = rememberedUntil(signedAtMs);
    group.set(digest, ends);
    const batch = this.ending.get(ends);
    if (batch) batch.push([accessKeyId, digest]);
    else this.ending.set(ends, [[accessKeyId, digest]]);
    return "fresh";
  }

  /** Forgets what has ended, once per second of the calls' clock. */
  private sweep(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second === this.sweptSecond) return;
    this.sweptSecond = second;
    for (const [ends, batch] of this.ending) {
      if (ends > nowMs) continue;
      for (const [accessKeyId, digest] of batch) {
        const group = this.byKey.get(accessKeyId);
        // The same nonce noted again since (after it ended) has its own, later end.
        if (group?.get(digest) !== ends) continue;
        group.delete(digest);
        if (group.size === 0) this.byKey.delete(accessKeyId);
      }
      this.ending.delete(ends);
    }
  }
}

export class SharedNonceWindow implements Nonces {
  constructor(private readonly store: SeenOnce) {}

  use(accessKeyId: string, nonce: string, nowMs: number, signedAtMs: number): Promise<NonceVerdict> {
    return this.store.firstUse(digestOf(accessKeyId), digestOf(nonce), nowMs, rememberedUntil(signedAtMs), Number.MAX_SAFE_INTEGER);
  }
}
