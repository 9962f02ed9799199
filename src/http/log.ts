/** Structured JSON logs (pino). Callers pass only masked values; nothing here sees a raw element. */
import fs from "node:fs";
import pino, { type DestinationStream, type Logger } from "pino";
import { isoString } from "../common/day-strings";

export type { Logger };

export interface Logging {
  logger: Logger;
  /** writes out what is buffered (on shutdown) */
  flush(): Promise<void>;
}

const LOG_FLUSH_MS = 1000;
const STDOUT = 1;
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
  /** once the logging is flushed for good: each line goes to the stream as it comes, none is held here */
  private passThrough = false;

  constructor(
    private readonly out: SonicBoom,
    /** the stream's file descriptor, for the writes at exit */
    private readonly fd: number,
  ) {}

  write(line: string): void {
    if (this.passThrough) {
      // no timer flushes the stream any more, and only pino's weak reference keeps it for the exit: out now
      this.out.write(line);
      this.out.flush();
      return;
    }
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= LOG_CHUNK_CHARS) this.drain();
  }

  /** pino's logger.flush(cb): what is gathered, then the stream's own flush */
  flush(cb?: (err?: Error) => void): void {
    this.drain();
    this.out.flush(cb);
  }

  /** hands what is gathered to the stream */
  drain(): void {
    if (this.lines.length === 0) return;
    const chunk = this.lines.join("");
    this.lines = [];
    this.chars = 0;
    this.out.write(chunk);
  }

  /** from now on, lines go straight to the stream (its own buffer is written out at exit by pino) */
  close(): void {
    this.drain();
    this.passThrough = true;
  }

  /**
   * At exit, with no event loop left: the stream's buffer, then what is gathered here, both written synchronously.
   * Handed to the stream, a chunk of many-byte characters could start an asynchronous write no thread would finish.
   */
  drainSync(): void {
    if (this.lines.length === 0) return;
    const chunk = this.lines.join("");
    this.lines = [];
    this.chars = 0;
    try {
      this.out.flushSync();
      writeAllSync(this.fd, Buffer.from(chunk));
    } catch {
      // the stream is gone (closed, a broken pipe) or stays full: nothing more can be written at exit
    }
  }
}

/** Tries at exit on a full non-blocking pipe (EAGAIN), 10 ms apart, before the gathered lines are given up (pino's own
 * flush of the stream before them retries without a bound) */
const EXIT_WRITE_TRIES = 100;

function writeAllSync(fd: number, bytes: Buffer): void {
  let rest = bytes;
  for (let tries = 0; rest.length > 0; ) {
    try {
      rest = rest.subarray(fs.writeSync(fd, rest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN" || ++tries >= EXIT_WRITE_TRIES) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
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
  const ownStream = destination ? undefined : pino.destination({ dest: STDOUT, sync: false, minLength: LOG_CHUNK_CHARS });
  const batch = ownStream && new LineBatch(ownStream, STDOUT);
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
          batch.close();
          drainedAtExit.delete(batch);
        }
        ownStream.flush(() => resolve());
      }),
  };
}
