/**
 * Work that fails away from any request's answer (a background audit write, a dropped pool connection, the
 * writer thread): never swallowed. The server logs each and counts it in /metrics; a CLI command prints it.
 */
export type FailureKind = "audit" | "ledger" | "journal" | "writer-thread" | "postgres-pool" | "redis" | "daily-counter" | "upstream-auth";

export type FailureSink = (kind: FailureKind, err: unknown) => void;

export const printFailure: FailureSink = (kind, err) => {
  process.stderr.write(`sanyao: ${kind} failure: ${err instanceof Error ? err.message : String(err)}\n`);
};

/** Forwards to whichever sink is set now: stores are opened before the server's logger exists. */
export class FailureReporter {
  private sink: FailureSink = printFailure;

  reportTo(sink: FailureSink): void {
    this.sink = sink;
  }

  readonly report: FailureSink = (kind, err) => this.sink(kind, err);
}
