/**
 * A dependency (PostgreSQL, Redis, the primary process's counters, a verification source) could not be reached or
 * did not answer in time. The protocol layer alone turns it into an answer: the routed action's `whenUnavailable`
 * (PhoneVerification: -11, uncharged), else ServiceUnavailable. It never carries request values.
 */
export class UnavailableError extends Error {
  constructor(
    readonly dependency: "postgres" | "redis" | "counters" | "source" | "upstream",
    cause: unknown,
  ) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
