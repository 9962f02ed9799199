/**
 * The cache of paid answers (SANYAO_CACHE_TTL seconds; off by default): a charged upstream answer is kept for the
 * TTL under a keyed hash of the action, its mode and the normalised inputs (never the values), so the same check
 * repeated within the TTL costs nothing upstream. Uncharged answers are never kept. In memory, per instance.
 */
import type { Keyring } from "../common/keyring";
import { normaliseIdCard } from "../rules/idcard";
import { normalisePhone } from "../rules/phone";
import { ExpiringAnswers } from "./expiring-answers";

const MAX_ENTRIES = 100_000;

export class AnswerCache {
  private readonly entries = new ExpiringAnswers(MAX_ENTRIES);

  constructor(
    private readonly keyring: Keyring,
    private readonly ttlMs: number,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** The key of one call: its action, mode and inputs, normalised as the checks compare them. */
  keyOf(action: string, mode: string, inputs: Readonly<Record<string, unknown>>): string {
    const normal = Object.entries(inputs)
      .filter(([, v]) => typeof v === "string")
      .map(([k, v]) => {
        const value = String(v);
        if (k === "Phone" || k === "Mobile") return [k, normalisePhone(value)];
        if (k === "IdCard") return [k, normaliseIdCard(value)];
        return [k, value.trim()];
      })
      .sort(([a], [b]) => String(a).localeCompare(String(b)));
    return this.keyring.hash("cache", JSON.stringify([action, mode, normal])).toString("base64url");
  }

  get(key: string, now: number): Record<string, unknown> | undefined {
    return this.entries.get(key, now);
  }

  put(key: string, fields: Record<string, unknown>, now: number): void {
    this.entries.put(key, fields, now + this.ttlMs, now);
  }
}
