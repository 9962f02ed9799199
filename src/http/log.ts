/** Structured JSON logs (pino). Callers pass only masked values; nothing here sees a raw element. */
import pino, { type DestinationStream, type Logger } from "pino";
import { isoString } from "../common/day-strings";

export type { Logger };

export interface Logging {
  logger: Logger;
  /** writes out what is buffered (on shutdown) */
  flush(): Promise<void>;
}

const LOG_FLUSH_MS = 1000;
/** characters of lines gathered before they go to the stream as one string */
const LOG_CHUNK_CHARS = 4096;

/** pino.stdTimeFunctions.isoTime's very line, its date part formatted once a day (common/day-strings.ts). */
const isoTime = () => `,"time":"${isoString(Date.now())}"`;

type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * Lines gathered in an array and handed to the stream joined, a few KiB at a time. Written one by one, sonic-boom
 * appends each line to its buffered string and measures that string's UTF-8 length, which flattens (copies) it on
 * every line: 6.4 KB allocated a request (V8's sampling heap profiler, the benchmark's load), most of a request's log.
 */
class LineBatch implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;

  constructor(private readonly out: SonicBoom) {}

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= LOG_CHUNK_CHARS) this.drain();
  }

  /** hands what is gathered to the stream */
  drain(): void {
    if (this.lines.length === 0) return;
    const chunk = this.lines.join("");
    this.lines = [];
    this.chars = 0;
    this.out.write(chunk);
  }

  /** at exit, with no event loop left: after pino's own synchronous flush of the stream, what was still gathered here */
  drainSync(): void {
    if (this.lines.length === 0) return;
    this.drain();
    try {
      this.out.flushSync();
    } catch {
      // the stream is gone (closed, a broken pipe): nothing left to write to
    }
  }
}

/** batches whose lines are written out at exit (one listener, however many servers this process runs) */
const drainedAtExit = new Set<LineBatch>();
let exitListening = false;

function drainAtExit(batch: LineBatch): void {
  drainedAtExit.add(batch);
  if (exitListening) return;
  exitListening = true;
  process.once("exit", () => {
    for (const b of drainedAtExit) b.drainSync();
  });
}

export function createLogging(level: string, destination?: DestinationStream): Logging {
  // Buffered, asynchronous writes: one log line per request must not cost a write(2) per request.
  const ownStream = destination ? undefined : pino.destination({ dest: 1, sync: false, minLength: LOG_CHUNK_CHARS });
  const batch = ownStream && new LineBatch(ownStream);
  const options = { level, base: { pid: process.pid }, timestamp: isoTime };
  // pid tells the processes of `serve --workers N` apart.
  const logger = pino(options, batch ?? destination);
  if (batch) drainAtExit(batch);
  // A quiet server's lines must not wait for the next 4 KiB: what is buffered is written out every second.
  const timer =
    ownStream &&
    setInterval(() => {
      batch?.drain();
      ownStream.flush();
    }, LOG_FLUSH_MS);
  timer?.unref();
  return {
    logger,
    flush: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        if (!ownStream) return resolve();
        if (batch) {
          batch.drain();
          drainedAtExit.delete(batch);
        }
        ownStream.flush(() => resolve());
      }),
  };
}
