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

/** pino.stdTimeFunctions.isoTime's very line, its date part formatted once a day (common/day-strings.ts). */
const isoTime = () => `,"time":"${isoString(Date.now())}"`;

export function createLogging(level: string, destination?: DestinationStream): Logging {
  // Buffered, asynchronous writes: one log line per request must not cost a write(2) per request.
  const ownStream = destination ? undefined : pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const options = { level, base: { pid: process.pid }, timestamp: isoTime };
  // pid tells the processes of `serve --workers N` apart.
  const logger = ownStream ? pino(options, ownStream) : pino(options, destination);
  // A quiet server's lines must not wait for the next 4 KiB: what is buffered is written out every second.
  const timer = ownStream && setInterval(() => ownStream.flush(), LOG_FLUSH_MS);
  timer?.unref();
  return {
    logger,
    flush: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        if (!ownStream) return resolve();
        ownStream.flush(() => resolve());
      }),
  };
}
