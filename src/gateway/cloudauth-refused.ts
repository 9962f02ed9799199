/**
 * Gateway mode forwards Tencent's FaceID to the company's upstream account (docs/gateway.md); it has no Alibaba
 * upstream. While an upstream is set, a Cloudauth call on a live key is therefore refused before anything is
 * counted or charged, rather than answered from the gateway's own records (it holds none: every answer would be
 * "not on record") and charged outside the team's monthly budget. Test keys keep their fixtures (not this product).
 */
import type { ActionDefinition } from "../call/action";
import { GatewayError } from "../aliyun/errors";
import type { AcsProduct } from "../aliyun/pipeline";

export const CLOUDAUTH_IN_GATEWAY_MODE =
  "Cloudauth is not served in gateway mode: this installation forwards Tencent FaceID calls to an upstream account and has no Alibaba upstream.";

export function cloudauthOutsideGatewayMode(product: AcsProduct, upstreamSet: () => Promise<boolean>): AcsProduct {
  const actions = new Map<string, ActionDefinition>();
  for (const [name, action] of product.actions) {
    actions.set(name, {
      ...action,
      async admit(params, ctx) {
        if (await upstreamSet()) throw new GatewayError("InvalidApi.NotFound", CLOUDAUTH_IN_GATEWAY_MODE);
        return action.admit(params, ctx);
      },
    });
  }
  return { ...product, actions };
}
