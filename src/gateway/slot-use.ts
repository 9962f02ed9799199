/**
 * How many upstream slots this process took in each of the last seconds: what the console's Gateway page charts
 * beside the upstream's limit. Counted in memory per process (the limit itself is counted where the limiter keeps
 * it, Redis in scale-out): a ring of one counter a second, so recording costs one array write on the gateway path.
 */
export const SLOT_USE_SECONDS = 60;

export class SlotUse {
  private readonly counts = new Uint32Array(SLOT_USE_SECONDS);
  private readonly seconds = new Float64Array(SLOT_USE_SECONDS).fill(-1);

  /** one slot taken at `nowMs` */
  record(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const i = second % SLOT_USE_SECONDS;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.counts[i] = 0;
    }
    this.counts[i] = (this.counts[i] ?? 0) + 1;
  }

  /** the last `SLOT_USE_SECONDS` seconds up to `nowMs`'s, oldest first, with the slots taken in each */
  lastSeconds(nowMs: number): Array<{ at: string; used: number }> {
    const now = Math.floor(nowMs / 1000);
    return Array.from({ length: SLOT_USE_SECONDS }, (_, k) => {
      const second = now - SLOT_USE_SECONDS + 1 + k;
      const i = second % SLOT_USE_SECONDS;
      return { at: new Date(second * 1000).toISOString(), used: this.seconds[i] === second ? (this.counts[i] ?? 0) : 0 };
    });
  }
}
