/** FaceID as the router sees it: the service, its API version and the actions served in it. */
import type { Product } from "../api3/router";
import { carrierVerifications } from "./carrier-verification";
import { checkPhoneAndName } from "./check-phone-and-name";
import { idCardVerification } from "./id-card-verification";
import { phoneVerification, type PhoneVerificationDeps } from "./phone-verification";

export const FACEID_SERVICE = "faceid";
export const FACEID_VERSION = "2018-03-01";
/** PhoneVerification's priced variants (its VerifyMode): the closed label set of the charged-answers metric */
export const FACEID_VARIANTS = ["simple", "detailed"] as const;

export function faceidProduct(deps: PhoneVerificationDeps): Product {
  const actions = [phoneVerification(deps), ...carrierVerifications(deps), checkPhoneAndName(deps), idCardVerification(deps)];
  return { service: FACEID_SERVICE, versions: new Map([[FACEID_VERSION, new Map(actions.map((a) => [a.name, a]))]]) };
}
