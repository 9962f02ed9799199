/**
 * The last background failures this process saw (an audit write, a dropped pool connection, the writer thread, the
 * upstream refusing the company key), for the overview. Their messages are what the log line says: no values.
 */
import type { FailureKind } from "../common/failures";

const KEPT = 20;
const MESSAGE_CHARS = 300;

export interface RecentFailure {
  at: string;
  what: string;
}

export class RecentFailures {
  private readonly kept: RecentFailure[] = [];

  constructor(private readonly clock: () => number) {}

  add(kind: FailureKind, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.kept.push({ at: new Date(this.clock()).toISOString(), what: `${kind}: ${message.slice(0, MESSAGE_CHARS)}` });
    if (this.kept.length > KEPT) this.kept.shift();
  }

  /** newest first */
  list(): RecentFailure[] {
    return [...this.kept].reverse();
  }
}
