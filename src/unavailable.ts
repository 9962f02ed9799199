/**
 * A dependency (PostgreSQL, Redis, the primary process's counters) could not be reached or did not answer in time. Callers turn it into
 * `-11` inside PhoneVerification and `ServiceUnavailable` elsewhere; it never carries request values.
 */
export class UnavailableError extends Error {
  constructor(
    readonly dependency: "postgres" | "redis" | "counters",
    cause: unknown,
  ) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
