/**
 * Sign-in attempts per address: at most LIMIT a minute, right or wrong, so a token cannot be guessed at speed.
 * Counted in this process (each instance its own); the window is fixed, and a full map forgets its oldest entries.
 */
export const SIGN_IN_LIMIT = 10;
const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

export class SignInBudget {
  private readonly windows = new Map<string, { startMs: number; n: number }>();

  constructor(private readonly clock: () => number) {}

  /** Counts an attempt; the seconds to wait when it is one too many, else undefined. */
  take(address: string): number | undefined {
    const now = this.clock();
    let w = this.windows.get(address);
    if (!w || now - w.startMs >= WINDOW_MS || now < w.startMs) {
      this.windows.delete(address);
      if (this.windows.size >= MAX_ADDRESSES) {
        const oldest = this.windows.keys().next();
        if (!oldest.done) this.windows.delete(oldest.value);
      }
      w = { startMs: now, n: 0 };
      this.windows.set(address, w);
    }
    w.n++;
    return w.n > SIGN_IN_LIMIT ? Math.max(1, Math.ceil((w.startMs + WINDOW_MS - now) / 1000)) : undefined;
  }
}
