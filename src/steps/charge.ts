/**
 * The charge step every paid action shares: the ledger row and the debit, committed before the charged answer is
 * sent, at most once per call. The action's own answer and an answer a hook asked for (call/hooks.ts) go through
 * the same step, so a scripted charge is money like any other: in gateway mode it consumes the call's budget
 * reservation, which admission set aside and the call gives back only when nothing was charged.
 * In gateway mode the upstream was paid before the charge is written: a charge the ledger cannot take then goes to
 * the journal of paid answers instead (store/paid-answers.ts) and the call counts as charged, never as free.
 */
import { ApiError } from "../api3/errors";
import { UnavailableError } from "../common/unavailable";
import type { ChargeEntry, VerifyModeName } from "../store/model";
import type { Ledger } from "../store/storage";

export interface ChargeDeps {
  ledger: Pick<Ledger, "charge">;
  /** a ledger that failed: the caller sees only FailedOperation.UnKnown */
  onError: (err: unknown, requestId: string, stage: "ledger") => void;
}

/** The call being charged: who, when, under which RequestId. */
export interface ChargedCall {
  requestId: string;
  caller: { accountId: string; secretId: string };
  now: number;
}

export class ChargeStep {
  private done = false;
  private later = false;

  constructor(
    private readonly deps: ChargeDeps,
    private readonly call: ChargedCall,
    readonly action: string,
    readonly mode: VerifyModeName,
    /** fen */
    readonly unitPrice: number,
  ) {}

  /** whether this call was charged */
  get charged(): boolean {
    return this.done;
  }

  /** whether this call's charge is still to be written (it went to the journal of paid answers) */
  get writtenLater(): boolean {
    return this.later;
  }

  /**
   * Charges the call (once: a second charge of the same call is a no-op). `unwritten`: where the charge goes when
   * the ledger cannot take it (it must keep it before returning); the call is then charged all the same.
   */
  async charge(upstreamRequestId?: string, unwritten?: (entry: ChargeEntry, cause: unknown) => void): Promise<void> {
    if (this.done) return;
    const { deps, call } = this;
    const entry: ChargeEntry = {
      upstreamRequestId,
      requestId: call.requestId,
      accountId: call.caller.accountId,
      secretId: call.caller.secretId,
      action: this.action,
      mode: this.mode,
      unitPrice: this.unitPrice,
      at: call.now,
    };
    try {
      await deps.ledger.charge(entry);
    } catch (err) {
      if (unwritten) {
        unwritten(entry, err);
        this.done = this.later = true;
        return;
      }
      if (err instanceof UnavailableError) throw err;
      deps.onError(err, call.requestId, "ledger");
      throw new ApiError("FailedOperation.UnKnown");
    }
    this.done = true;
  }
}
