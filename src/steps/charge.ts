/**
 * The charge step every paid action shares: the ledger row and the debit, committed before the charged answer is
 * sent, at most once per call. The action's own answer and an answer a hook asked for (call/hooks.ts) go through
 * the same step, so a scripted charge is money like any other: in gateway mode it consumes the call's budget
 * reservation, which admission set aside and the call gives back only when nothing was charged.
 */
import { ApiError } from "../api3/errors";
import { UnavailableError } from "../common/unavailable";
import type { VerifyModeName } from "../store/model";
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

  /** Charges the call (once: a second charge of the same call is a no-op). */
  async charge(upstreamRequestId?: string): Promise<void> {
    if (this.done) return;
    const { deps, call } = this;
    try {
      await deps.ledger.charge({
        upstreamRequestId,
        requestId: call.requestId,
        accountId: call.caller.accountId,
        secretId: call.caller.secretId,
        action: this.action,
        mode: this.mode,
        unitPrice: this.unitPrice,
        at: call.now,
      });
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      deps.onError(err, call.requestId, "ledger");
      throw new ApiError("FailedOperation.UnKnown");
    }
    this.done = true;
  }
}
