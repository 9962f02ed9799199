/**
 * MobileOnlineStatus (MobileStatus's check) and MobileOnlineTime (MobileNetworkTimeVerification's), alibaba-cloudauth.md
 * §1.4, §6.5, §6.6: the same records, number rules and daily caps; MobileOnlineTime bills only an answer with a
 * TimeCode (§8.2), so its check runs with a table that does not charge -2 and -3.
 */
import type { ParamSchema } from "../api3/params";
import type { ActionDefinition } from "../api3/router";
import type { FaceIdDeps } from "../faceid/deps";
import { mobileNetworkTimeVerification, mobileStatus } from "../faceid/number-checks";
import { NETWORK_TIME_RESULTS } from "../faceid/results";
import { FROM_MOBILE_STATUS, FROM_NETWORK_TIME } from "./results";
import { refuseInput, resultKey, translated } from "./translated";
import { ispOfNumber } from "./two-meta";

export const MOBILE_ONLINE_SCHEMA = {
  ParamType: { type: "String" },
  Mobile: { type: "String" },
} as const satisfies ParamSchema;

/** MobileNetworkTimeVerification's table as MobileOnlineTime charges it: no charge without a TimeCode. */
const ONLINE_TIME_CHARGES = {
  ...NETWORK_TIME_RESULTS,
  "-2": { ...NETWORK_TIME_RESULTS["-2"], charged: false },
  "-3": { ...NETWORK_TIME_RESULTS["-3"], charged: false },
};

export function mobileOnlineActions(deps: FaceIdDeps): ActionDefinition[] {
  const common = {
    deps,
    schema: MOBILE_ONLINE_SCHEMA,
    refuse: (p: { ParamType?: string; Mobile?: string }) => refuseInput(p.ParamType, [p.Mobile]),
    fields: (p: { Mobile?: string }) => ({ Mobile: p.Mobile ?? "" }),
    extra: (p: { Mobile?: string }) => ({ IspName: ispOfNumber(p.Mobile, deps) }),
    subjects: (p: { Mobile?: string }) => ({ phone: p.Mobile }),
  };
  return [
    translated({
      ...common,
      name: "MobileOnlineStatus",
      check: mobileStatus(deps, "MobileOnlineStatus"),
      keyOf: (outcome) => resultKey(outcome, "StatusCode"),
      table: FROM_MOBILE_STATUS,
    }),
    translated({
      ...common,
      name: "MobileOnlineTime",
      check: mobileNetworkTimeVerification(deps, { action: "MobileOnlineTime", results: ONLINE_TIME_CHARGES }),
      keyOf: (outcome) => resultKey(outcome, "Range"),
      table: FROM_NETWORK_TIME,
    }),
  ];
}
