/** Account-level refusals of a paid action, in the documented order (phone-verification.md, check 3). */
import { ApiError } from "../api3/errors";
import type { Account } from "../store/model";

export function refuseUnusableAccount(account: Account): void {
  if (!account.activated) throw new ApiError("UnauthorizedOperation.Nonactivated");
  if (!account.identityVerified) throw new ApiError("UnauthorizedOperation.NonAuthorize");
  if (account.billing !== "ok") throw new ApiError("UnauthorizedOperation.ChargeStatusException");
  // The call that takes the balance below zero is still served; only the ones after it are refused.
  if (account.balance < 0) throw new ApiError("UnauthorizedOperation.Arrears");
}
