/**
 * The idempotency window of paid answers whose charge went to the journal (the team's store could not take it):
 * for 10 minutes the same call — the same team, action, mode and normalised inputs, keyed as the answer cache keys
 * them (a keyed hash, never the values) — is answered from here, so a client that retries does not make the company
 * pay the upstream again, nor the team twice. Empty on the ordinary path, where it costs nothing: no key is made.
 * In memory, per instance.
 */
import { ExpiringAnswers } from "./expiring-answers";

export const PAID_WINDOW_MS = 10 * 60_000;
const MAX_ENTRIES = 10_000;

export class PaidWindow {
  private readonly entries = new ExpiringAnswers(MAX_ENTRIES);
  /** when the newest entry expires: past it, every entry has */
  private lastUntil = 0;

  constructor(private readonly windowMs = PAID_WINDOW_MS) {}

  /** nothing to look up (the ordinary path): the call's key need not be made */
  isEmpty(now: number): boolean {
    if (now >= this.lastUntil) this.entries.clear();
    return this.entries.size === 0;
  }

  /** The team's own key for a call: `callKey` is the answer cache's key of it (action, mode, normalised inputs). */
  keyOf(accountId: string, callKey: string): string {
    return `${accountId}:${callKey}`;
  }

  get(key: string, now: number): Record<string, unknown> | undefined {
    return this.entries.get(key, now);
  }

  put(key: string, fields: Record<string, unknown>, now: number): void {
    this.entries.put(key, fields, now + this.windowMs, now);
    this.lastUntil = Math.max(this.lastUntil, now + this.windowMs);
  }
}
