/** The signature diagnoses of the last refused calls, by RequestId: a bounded map, the oldest dropped first. */
import type { SignatureDiagnosis } from "../api3/diagnose";

export const DIAGNOSES_KEPT = 1000;

export class Diagnoses {
  private readonly byRequest = new Map<string, Promise<SignatureDiagnosis | undefined>>();

  constructor(private readonly size = DIAGNOSES_KEPT) {}

  /** Kept while it is worked out, so an explain that comes at once waits for it rather than finding nothing. */
  add(requestId: string, work: Promise<SignatureDiagnosis>, onError: (err: unknown) => void): void {
    if (this.byRequest.size >= this.size) this.byRequest.delete(this.byRequest.keys().next().value!);
    this.byRequest.set(
      requestId,
      work.catch((err: unknown) => {
        onError(err);
        return undefined;
      }),
    );
  }

  get(requestId: string): Promise<SignatureDiagnosis | undefined> {
    return this.byRequest.get(requestId) ?? Promise.resolve(undefined);
  }
}
