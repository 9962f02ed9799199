/**
 * The signature diagnoses of the last refused calls, by RequestId. What they cost is bounded whatever arrives: at
 * most DIAGNOSES_PER_SECOND are worked out (with a burst of DIAGNOSES_BURST), the calls past that are only noted;
 * at most DIAGNOSES_KEPT are kept and at most DIAGNOSES_BYTES of them (measured as JSON), the oldest dropped first.
 *
 * The rate bound is why a flood of refused calls cannot starve valid ones: a diagnosis signs a call again some
 * twenty times, several times the work of refusing it. Diagnosing lazily, when asked, would instead mean keeping each
 * refused call's query, body or parameters, values and all, until someone asks or nobody does.
 */
import { type SignatureDiagnosis, notDiagnosed } from "../api3/diagnose";
import type { AuthFailure } from "../api3/pipeline";

export const DIAGNOSES_KEPT = 1000;
export const DIAGNOSES_BYTES = 2 * 1024 * 1024;
export const DIAGNOSES_PER_SECOND = 10;
export const DIAGNOSES_BURST = 20;

const OVER_RATE =
  `Not diagnosed: more than ${DIAGNOSES_PER_SECOND} calls a second (a burst of ${DIAGNOSES_BURST}) were refused, and the ones past ` +
  "that are only noted, so that refused calls cannot take the server's time from valid ones. Make this call again on its own to have it diagnosed.";

interface Kept {
  diagnosis: Promise<SignatureDiagnosis | undefined>;
  /** its size as JSON, once it is worked out */
  bytes: number;
}

export class Diagnoses {
  private readonly byRequest = new Map<string, Kept>();
  private bytes = 0;
  private tokens = DIAGNOSES_BURST;
  private refilledAt = performance.now();

  /** Kept while it is worked out, so an explain that comes at once waits for it rather than finding nothing. */
  add(failure: AuthFailure, diagnose: (failure: AuthFailure) => Promise<SignatureDiagnosis>, onError: (err: unknown) => void): void {
    this.addFor(failure, diagnose, (f) => notDiagnosed(f, OVER_RATE), onError);
  }

  /** A refusal of any protocol (Alibaba's too): `notDone` is what is kept when the rate bound says not to diagnose. */
  addFor<F extends { requestId: string }>(
    failure: F,
    diagnose: (failure: F) => Promise<SignatureDiagnosis>,
    notDone: (failure: F) => SignatureDiagnosis,
    onError: (err: unknown) => void,
  ): void {
    const work = this.takeToken() ? diagnose(failure) : Promise.resolve(notDone(failure));
    const kept: Kept = { diagnosis: Promise.resolve(undefined), bytes: 0 };
    kept.diagnosis = work.then(
      (diagnosis) => {
        // A copy: the strings of a diagnosis may be slices of the request's body, which must not live on through it.
        const copy = structuredClone(diagnosis);
        if (this.byRequest.get(failure.requestId) === kept) {
          kept.bytes = Buffer.byteLength(JSON.stringify(copy));
          this.bytes += kept.bytes;
          this.evict();
        }
        return copy;
      },
      (err: unknown) => {
        onError(err);
        return undefined;
      },
    );
    this.forget(failure.requestId);
    this.byRequest.set(failure.requestId, kept);
    this.evict();
  }

  get(requestId: string): Promise<SignatureDiagnosis | undefined> {
    return this.byRequest.get(requestId)?.diagnosis ?? Promise.resolve(undefined);
  }

  private takeToken(): boolean {
    const now = performance.now();
    this.tokens = Math.min(DIAGNOSES_BURST, this.tokens + ((now - this.refilledAt) / 1000) * DIAGNOSES_PER_SECOND);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private forget(requestId: string): void {
    const kept = this.byRequest.get(requestId);
    if (!kept) return;
    this.bytes -= kept.bytes;
    this.byRequest.delete(requestId);
  }

  /** Drops the oldest until both bounds hold; the newest is always kept. */
  private evict(): void {
    for (const oldest of this.byRequest.keys()) {
      if (this.byRequest.size <= 1 || (this.byRequest.size <= DIAGNOSES_KEPT && this.bytes <= DIAGNOSES_BYTES)) return;
      this.forget(oldest);
    }
  }
}
