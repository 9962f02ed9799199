/** Structured JSON logs (pino). Callers pass only masked values; nothing here sees a raw element. */
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Buffered, asynchronous writes: one log line per request must not cost a write(2) per request.
  const out = destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
  // pid tells the processes of `serve --workers N` apart.
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, out);
}
