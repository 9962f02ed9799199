/**
 * Prometheus metrics (prom-client), one registry per server, fed from each request's outcome. Every label takes
 * its value from a closed set fixed at start-up (routed actions, known codes, `other`): what a caller sends
 * before it is authenticated can never create a series.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

import type { OutcomeSignal } from "../call/hooks";
import type { FailureKind } from "../common/failures";

export const OTHER = "other";

export class Metrics {
  readonly registry = new Registry();
  private readonly actions: ReadonlySet<string>;
  private readonly codes: ReadonlySet<string>;
  private readonly variants: ReadonlySet<string>;
  private readonly requests = new Counter({
    name: "sanyao_requests_total",
    help: "API requests by action and Result or error code",
    labelNames: ["action", "code"] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "sanyao_request_duration_seconds",
    help: "time from the request's arrival to its answer",
    labelNames: ["action"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly charged = new Counter({
    name: "sanyao_charged_total",
    help: "charged answers by the action's priced variant (PhoneVerification: its VerifyMode)",
    labelNames: ["mode"] as const,
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: "sanyao_limit_refusals_total",
    help: "requests refused by the per-second rate limit (rate) or a daily cap (daily)",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });
  private readonly sourceErrors = new Counter({
    name: "sanyao_source_errors_total",
    help: "answers whose verification path could not be completed (PhoneVerification's -11, each action's own code)",
    registers: [this.registry],
  });
  private readonly decryptFailures = new Counter({
    name: "sanyao_decrypt_failures_total",
    help: "encrypted request fields that did not open, or opened to a value not well formed (each counted against its SecretId)",
    registers: [this.registry],
  });
  private readonly decryptLockouts = new Counter({
    name: "sanyao_decrypt_lockouts_total",
    help: "SecretIds that spent their decryption-failure budget: their encrypted calls refused until the window ends",
    registers: [this.registry],
  });
  private readonly failures = new Counter({
    name: "sanyao_background_failures_total",
    help: "failures away from a request's answer (audit writes, the writer thread, connection pools), each also logged",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  /** every routed action name, every Result and error code an answer can carry, every priced variant */
  constructor(actions: Iterable<string>, codes: Iterable<string>, variants: Iterable<string>) {
    this.actions = new Set(actions);
    this.codes = new Set(codes);
    this.variants = new Set(variants);
  }

  observe(
    actionName: string | undefined,
    resultCode: string,
    billable: boolean,
    variant: string | undefined,
    signal: OutcomeSignal | undefined,
    seconds: number,
  ): void {
    const action = actionName !== undefined && this.actions.has(actionName) ? actionName : OTHER;
    const code = this.codes.has(resultCode) ? resultCode : OTHER;
    this.requests.inc({ action, code });
    this.duration.observe({ action }, seconds);
    if (billable) this.charged.inc({ mode: variant !== undefined && this.variants.has(variant) ? variant : OTHER });
    if (code === "RequestLimitExceeded") this.refusals.inc({ limit: "rate" });
    else if (signal === "daily-cap") this.refusals.inc({ limit: "daily" });
    else if (signal === "source-failure") this.sourceErrors.inc();
  }

  decryptFailure(): void {
    this.decryptFailures.inc();
  }

  decryptLockout(): void {
    this.decryptLockouts.inc();
  }

  failure(kind: FailureKind): void {
    this.failures.inc({ kind });
  }

  /** Paid answers waiting for the store, read at each scrape: held in memory (not ready), and in the journal. */
  watchPaidAnswers(count: { held: () => number; journaled: () => number }): void {
    const held: Gauge = new Gauge({
      name: "sanyao_paid_answers_held",
      help: "paid answers the store could not take and the journal could not either: held in memory (/readyz answers 503)",
      registers: [this.registry],
      collect: () => held.set(count.held()),
    });
    const journaled: Gauge = new Gauge({
      name: "sanyao_paid_answers_journaled",
      help: "paid answers the store could not take, kept in the journal until it does (charges, and calls for the unknown list)",
      registers: [this.registry],
      collect: () => journaled.set(count.journaled()),
    });
  }
}
