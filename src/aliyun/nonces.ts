/**
 * The replay window's memory (alibaba-cloudauth.md §5, §8.9): each SignatureNonce an AccessKeyId signed with, kept
 * until its request's own timestamp can no longer be accepted, so no request is valid again once its nonce is
 * forgotten. Kept by a digest of the nonce, so a long nonce costs no more than a short one. In one process
 * (NonceWindow), or shared (SharedNonceWindow): by every instance in scale-out (a sorted set per key on Redis), by
 * every worker of `serve --workers` (the primary's store, over IPC).
 */
import { hash } from "node:crypto";
import type { NonceVerdict, SeenOnce } from "../limits/contract";
import { MemorySeenOnce } from "../limits/seen-once";
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
 * takes about 135 bytes: a full key about 67 MB (measured on Node 20, x64).
 */
export const NONCES_PER_KEY = 500_000;

export interface Nonces {
  /**
   * "fresh" the first time (accessKeyId, nonce) is seen while its request could be valid, "replayed" after; "full"
   * when the key already holds NONCES_PER_KEY unexpired nonces, or (in one process) its account's share (all the
   * account's keys together; the key's own when no account is given) or the process's bound
   */
  use(accessKeyId: string, nonce: string, nowMs: number, signedAtMs: number, accountId?: string): Promise<NonceVerdict>;
}

// one-shot: a hash object per call cost more than the window's own work
const digestOf = (text: string) => hash("sha256", text, "base64url").slice(0, 22);

export class SharedNonceWindow implements Nonces {
  constructor(
    private readonly store: SeenOnce,
    private readonly perKey = NONCES_PER_KEY,
  ) {}

  use(accessKeyId: string, nonce: string, nowMs: number, signedAtMs: number, accountId?: string): Promise<NonceVerdict> {
    // named apart from the keys' own groups, so no account's name can be a key's
    const share = accountId === undefined ? undefined : digestOf(`account\u0000${accountId}`);
    return this.store.firstUse(digestOf(accessKeyId), digestOf(nonce), nowMs, rememberedUntil(signedAtMs), this.perKey, share);
  }
}

/** In one process (the embedded mode without workers): the same window over a store in memory. */
export class NonceWindow extends SharedNonceWindow {
  constructor(perKey = NONCES_PER_KEY) {
    super(new MemorySeenOnce(), perKey);
  }
}
