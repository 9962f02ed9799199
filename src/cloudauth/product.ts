/** Cloudauth (API 2019-03-07) as Alibaba's protocol layer (aliyun/) serves it: its actions and its refusals. */
import type { AcsProduct } from "../aliyun/pipeline";
import type { FaceIdDeps } from "../faceid/deps";
import { failure } from "./answer";
import { mobile3MetaActions } from "./mobile-3meta";
import { mobileOnlineActions } from "./mobile-online";
import { id2MetaActions, mobile2MetaVerify } from "./two-meta";
import { REFUSALS } from "./results";

export const CLOUDAUTH_SERVICE = "cloudauth";
export const CLOUDAUTH_VERSION = "2019-03-07";

export function cloudauthProduct(deps: FaceIdDeps): AcsProduct {
  const actions = [...mobile3MetaActions(deps), mobile2MetaVerify(deps), ...id2MetaActions(deps), ...mobileOnlineActions(deps)];
  return {
    service: CLOUDAUTH_SERVICE,
    version: CLOUDAUTH_VERSION,
    actions: new Map(actions.map((a) => [a.name, a])),
    refusal(code) {
      const own = Object.hasOwn(REFUSALS, code) ? REFUSALS[code] : undefined;
      return own === undefined ? undefined : failure(own);
    },
  };
}
