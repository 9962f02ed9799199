/**
 * Answers kept for a while under a key, in insertion order and at most `maxEntries`: the answer cache and the paid
 * window both hold paid answers this way. Entries go oldest first, when expired or to make room.
 */
export class ExpiringAnswers {
  private readonly entries = new Map<string, { fields: Record<string, unknown>; until: number }>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  get(key: string, now: number): Record<string, unknown> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.fields;
  }

  put(key: string, fields: Record<string, unknown>, until: number, now: number): void {
    for (const [k, e] of this.entries) {
      if (e.until > now && this.entries.size < this.maxEntries) break;
      this.entries.delete(k); // the oldest first: expired, or making room
    }
    this.entries.set(key, { fields, until });
  }
}
