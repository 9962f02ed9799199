/**
 * What `sanyao batch` shows while it runs: a bar on a terminal (gone once the run ends, so the summary stands
 * alone), else a plain line every five seconds. The rate counts the answers of the last five seconds, and is
 * shown only once five seconds have passed: the pacer sends a second's allowance at once, so a rate over a
 * shorter time reads several times what is being sent.
 */
import cliProgress from "cli-progress";

const RATE_WINDOW_MS = 5000;

export interface BatchProgress {
  /** a row sent and answered (`sent`), or one settled without a call: skipped, malformed, interrupted */
  tick(kind: "sent" | "settled"): void;
  /** says something mid-run: a bar is taken down first (and not drawn again), so the two never overlap */
  say(text: string): void;
  stop(): void;
}

/** Answers a second over the last RATE_WINDOW_MS, or undefined until that much time has passed. */
class AnswerRate {
  private readonly answers: number[] = [];
  private readonly started = performance.now();

  add(now = performance.now()): void {
    this.answers.push(now);
  }

  perSecond(now = performance.now()): number | undefined {
    if (now - this.started < RATE_WINDOW_MS) return undefined;
    while (this.answers.length > 0 && (this.answers[0] ?? now) <= now - RATE_WINDOW_MS) this.answers.shift();
    return this.answers.length / (RATE_WINDOW_MS / 1000);
  }
}

function shown(rate: number | undefined, left: number): { rate: string; left: string } {
  if (rate === undefined) return { rate: "–/s", left: "time left: –" };
  if (rate === 0) return { rate: "0.0/s", left: "time left: –" };
  return { rate: `${rate.toFixed(1)}/s`, left: `about ${Math.round(left / rate)} s left` };
}

export function startProgress(total: number, quiet: boolean): BatchProgress {
  let done = 0;
  const rate = new AnswerRate();
  const tick = (kind: "sent" | "settled") => {
    done++;
    if (kind === "sent") rate.add();
  };
  if (process.stderr.isTTY && !quiet) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: "batch [{bar}] {value}/{total} rows | {rate} | {left}", clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, shown(undefined, total));
    let drawn = true;
    return {
      tick: (kind) => {
        tick(kind);
        if (drawn) bar.update(done, shown(rate.perSecond(), total - done));
      },
      say: (text) => {
        if (drawn) bar.stop();
        drawn = false;
        process.stderr.write(text);
      },
      stop: () => {
        if (drawn) bar.stop();
        drawn = false;
      },
    };
  }
  // Not a terminal: a plain line every five seconds.
  const timer = setInterval(() => {
    const now = shown(rate.perSecond(), total - done);
    process.stderr.write(`sanyao batch: ${done}/${total} rows, ${now.rate}, ${now.left}\n`);
  }, RATE_WINDOW_MS);
  timer.unref();
  return { tick, say: (text) => process.stderr.write(text), stop: () => clearInterval(timer) };
}
