/** FaceID as the router sees it: the service, its API version and the actions served in it. */
import type { Product } from "../api3/router";
import { carrierVerifications } from "./carrier-verification";
import { checkPhoneAndName } from "./check-phone-and-name";
import { encryptedPhoneVerification } from "./encrypted-phone-verification";
import { idCardVerification } from "./id-card-verification";
import { mobileNetworkTimeVerification, mobileStatus } from "./number-checks";
import {
  ENCRYPTED_RESULTS,
  ID_CARD_RESULTS,
  MOBILE_STATUS_RESULTS,
  NETWORK_TIME_RESULTS,
  PHONE_AND_NAME_RESULTS,
  RESULTS,
} from "./results";
import { phoneVerification } from "./phone-verification";
import type { ThreeElementDeps } from "./three-elements";

export const FACEID_SERVICE = "faceid";
export const FACEID_VERSION = "2018-03-01";
/** PhoneVerification's priced variants (its VerifyMode): the closed label set of the charged-answers metric */
export const FACEID_VARIANTS = ["simple", "detailed"] as const;

/** Every Result any FaceID action answers: the closed label set of the requests metric. */
export const FACEID_RESULT_CODES: ReadonlySet<string> = new Set(
  [RESULTS, ENCRYPTED_RESULTS, PHONE_AND_NAME_RESULTS, ID_CARD_RESULTS, MOBILE_STATUS_RESULTS, NETWORK_TIME_RESULTS].flatMap((table) =>
    Object.keys(table),
  ),
);

export function faceidProduct(deps: ThreeElementDeps): Product {
  const actions = [
    phoneVerification(deps),
    ...carrierVerifications(deps),
    encryptedPhoneVerification(deps),
    checkPhoneAndName(deps),
    idCardVerification(deps),
    mobileStatus(deps),
    mobileNetworkTimeVerification(deps),
  ];
  return { service: FACEID_SERVICE, versions: new Map([[FACEID_VERSION, new Map(actions.map((a) => [a.name, a]))]]) };
}
