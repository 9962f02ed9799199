/**
 * The AES-CBC block pins of one process (embedded mode, or the primary with `--workers`): which predecessor each
 * ciphertext block was opened under, until its pin expires. Bounded: at most `perOwner` pins set by one SecretId
 * (its oldest go first), so one key's flood of blocks cannot push out the pins another key's calls set, and
 * `total` in all (the oldest go first).
 */
import type { BlockPin } from "./contract";

interface Pin {
  predecessor: string;
  expiresAt: number;
  owner: string;
}

export const BLOCK_PIN_BOUNDS = { perOwner: 10_000, total: 200_000 } as const;

export class MemoryBlockPins {
  /** in the order set: the oldest first (every pin lives as long, so also the first to expire) */
  private readonly pins = new Map<string, Pin>();
  private readonly byOwner = new Map<string, Set<string>>();

  constructor(private readonly bounds: { perOwner: number; total: number } = BLOCK_PIN_BOUNDS) {}

  /** whether any block is pinned, unexpired, to another predecessor */
  clashes(pins: readonly BlockPin[], nowMs: number): boolean {
    return pins.some(({ block, predecessor }) => {
      const held = this.pins.get(block);
      return held !== undefined && held.expiresAt > nowMs && held.predecessor !== predecessor;
    });
  }

  /** pins each block not pinned yet (or whose pin expired) to its predecessor, for `ttlMs` */
  pin(owner: string, pins: readonly BlockPin[], ttlMs: number, nowMs: number): void {
    this.dropExpired(nowMs);
    for (const { block, predecessor } of pins) {
      const held = this.pins.get(block);
      if (held && held.expiresAt > nowMs) continue;
      if (held) this.remove(block, held);
      this.pins.set(block, { predecessor, expiresAt: nowMs + ttlMs, owner });
      let owned = this.byOwner.get(owner);
      if (!owned) {
        owned = new Set();
        this.byOwner.set(owner, owned);
      }
      owned.add(block);
      if (owned.size > this.bounds.perOwner) this.removeFirst(owned);
      if (this.pins.size > this.bounds.total) this.removeFirst(this.pins.keys());
    }
  }

  get size(): number {
    return this.pins.size;
  }

  private dropExpired(nowMs: number): void {
    for (const [block, pin] of this.pins) {
      if (pin.expiresAt > nowMs) return;
      this.remove(block, pin);
    }
  }

  private removeFirst(blocks: Iterable<string>): void {
    for (const block of blocks) {
      const pin = this.pins.get(block);
      if (pin) this.remove(block, pin);
      return;
    }
  }

  private remove(block: string, pin: Pin): void {
    this.pins.delete(block);
    const owned = this.byOwner.get(pin.owner);
    owned?.delete(block);
    if (owned?.size === 0) this.byOwner.delete(pin.owner);
  }
}
