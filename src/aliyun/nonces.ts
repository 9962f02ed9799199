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

/**
 * How many unexpired nonces one AccessKeyId may hold; past it its calls are refused Throttling.User until some end.
 * Ten times what one action at its default 50 calls a second leaves in 15 minutes (45 000). In one process a nonce
 * takes about 140 bytes: a full key about 70 MB (measured on Node 20, x64).
 */
export const NONCES_PER_KEY = 500_000;

export interface Nonces {
  /**
   * "fresh" the first time (accessKeyId, nonce) is seen while its request could be valid, "replayed" after; "full"
   * when the key already holds NONCES_PER_KEY unexpired nonces
   */
  use(accessKeyId: string, nonce: string, nowMs: number, signedAtMs: number): Promise<NonceVerdict>;
}

const digestOf = (text: string) => createHash("sha256").update(text).digest("base64url").slice(0, 22);

export class NonceWindow implements Nonces {
  /** AccessKeyId → nonce digest → the second from which it may be forgotten (a small integer, no heap number) */
  private readonly byKey = new Map<string, Map<string, number>>();
  /** that second → AccessKeyId, digest, AccessKeyId, digest…: timestamps are whole seconds, so few distinct ends */
  private readonly ending = new Map<number, string[]>();
  private sweptSecond = Number.NaN;

  constructor(private readonly perKey = NONCES_PER_KEY) {}

  async use(accessKeyId: string, nonce: string, nowMs: number, signedAtMs: number): Promise<NonceVerdict> {
    this.sweep(nowMs);
    const digest = digestOf(nonce);
    let group = this.byKey.get(accessKeyId);
    const until = group?.get(digest);
    if (until !== undefined && until * 1000 > nowMs) return "replayed";
    if (!group) {
      group = new Map();
      this.byKey.set(accessKeyId, group);
    }
    // Full: refused, never room made by forgetting a nonce whose request could still be valid.
    if (until === undefined && group.size >= this.perKey) return "full";
    const ends = Math.ceil(rememberedUntil(signedAtMs) / 1000);
    group.set(digest, ends);
    const batch = this.ending.get(ends);
    if (batch) batch.push(accessKeyId, digest);
    else this.ending.set(ends, [accessKeyId, digest]);
    return "fresh";
  }

  /** Forgets what has ended, once per second of the calls' clock. */
  private sweep(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second === this.sweptSecond) return;
    this.sweptSecond = second;
    for (const [ends, batch] of this.ending) {
      if (ends > second) continue;
      for (let i = 0; i + 1 < batch.length; i += 2) {
        const accessKeyId = batch[i] ?? "";
        const digest = batch[i + 1] ?? "";
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
  constructor(
    private readonly store: SeenOnce,
    private readonly perKey = NONCES_PER_KEY,
  ) {}

  use(accessKeyId: string, nonce: string, nowMs: number, signedAtMs: number): Promise<NonceVerdict> {
    return this.store.firstUse(digestOf(accessKeyId), digestOf(nonce), nowMs, rememberedUntil(signedAtMs), this.perKey);
  }
}
