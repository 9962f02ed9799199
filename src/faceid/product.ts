/** FaceID as the router sees it: the service, its API version and the actions served in it. */
import type { ParamValue, ParamValues } from "../api3/params";
import type { Product } from "../api3/router";
import type { ActionDefinition } from "../call/action";
import type { CallFacts, CallSubjects } from "../call/hooks";
import { carrierVerifications } from "./carrier-verification";
import { checkPhoneAndName } from "./check-phone-and-name";
import { encryptedPhoneVerification } from "./encrypted-phone-verification";
import { idCardVerification } from "./id-card-verification";
import { mobileNetworkTimeVerification, mobileStatus } from "./number-checks";
import { RESULT_TABLES } from "./results";
import { phoneVerification } from "./phone-verification";
import type { FaceIdDeps } from "./deps";
import { isFaceIdAction } from "./tariff";

export const FACEID_SERVICE = "faceid";
export const FACEID_VERSION = "2018-03-01";
/** PhoneVerification's priced variants (its VerifyMode): the closed label set of the charged-answers metric */
export const FACEID_VARIANTS = ["simple", "detailed"] as const;

/** Every Result any FaceID action answers: the closed label set of the requests metric. */
export const FACEID_RESULT_CODES: ReadonlySet<string> = new Set(Object.values(RESULT_TABLES).flatMap((table) => Object.keys(table)));

export function faceidProduct(deps: FaceIdDeps): Product {
  const actions = [
    phoneVerification(deps),
    ...carrierVerifications(deps),
    encryptedPhoneVerification(deps),
    checkPhoneAndName(deps),
    idCardVerification(deps),
    mobileStatus(deps),
    mobileNetworkTimeVerification(deps),
  ].map(withCallFacts);
  return { service: FACEID_SERVICE, versions: new Map([[FACEID_VERSION, new Map(actions.map((a) => [a.name, a]))]]) };
}

const text = (v: ParamValue | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const names = (v: ParamValue | undefined): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;

/** Plaintext numbers only: an encrypted or hashed field is matched by nothing. */
function subjectsOf(params: ParamValues): CallSubjects {
  return { phone: text(params.Phone) ?? text(params.Mobile), idCard: text(params.IdCard) };
}

function factsOf(params: ParamValues): CallFacts {
  const encryption = params.Encryption;
  const nested = typeof encryption === "object" && encryption !== null && !Array.isArray(encryption) ? encryption.EncryptList : undefined;
  const encrypted = names(params.EncryptList) ?? names(nested);
  return { verifyMode: text(params.VerifyMode), encrypted: encrypted && encrypted.length > 0 ? encrypted : undefined };
}

/** What the hooks may know of every FaceID call: the subjects it is about, its safe facts (call/hooks.ts). */
function withCallFacts(action: ActionDefinition): ActionDefinition {
  return isFaceIdAction(action.name) ? { ...action, subjects: subjectsOf, facts: factsOf } : action;
}
