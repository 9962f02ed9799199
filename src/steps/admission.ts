/**
 * The admission steps every paid action shares, whatever its product or protocol (phone-verification.md checks 3
 * and 4; the Alibaba actions take the same): the account behind the key, its state in the documented order, and
 * its per-second limit for the action. What a call must pass before anything may answer it (call/hooks.ts).
 */
import { ApiError } from "../api3/errors";
import type { RateLimiter } from "../limits/contract";
import type { Account } from "../store/model";
import type { Accounts } from "../store/storage";

export interface AdmissionDeps {
  accounts: Pick<Accounts, "get">;
  rateLimiter: RateLimiter;
}

/** Account-level refusals of a paid action, in the documented order. */
export function refuseUnusableAccount(account: Account): void {
  if (!account.activated) throw new ApiError("UnauthorizedOperation.Nonactivated");
  if (!account.identityVerified) throw new ApiError("UnauthorizedOperation.NonAuthorize");
  if (account.billing !== "ok") throw new ApiError("UnauthorizedOperation.ChargeStatusException");
  // The call that takes the balance below zero is still served; only the ones after it are refused.
  if (account.balance < 0) throw new ApiError("UnauthorizedOperation.Arrears");
}

/** The account behind the key, refused when it cannot be served or is over its per-second limit for the action. */
export async function admitAccount(action: string, deps: AdmissionDeps, caller: { accountId: string }, nowMs: number): Promise<Account> {
  const { accountId } = caller;
  const account = await deps.accounts.get(accountId);
  if (!account) throw new ApiError("AuthFailure.SecretIdNotFound");
  refuseUnusableAccount(account);
  const limit = account.rateLimits[action] ?? account.rateLimit;
  if (!(await deps.rateLimiter.admit(`${accountId}:${action}`, limit, nowMs))) throw new ApiError("RequestLimitExceeded");
  return account;
}
