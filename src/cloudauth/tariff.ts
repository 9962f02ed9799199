/**
 * Cloudauth's actions served (alibaba-cloudauth.md §1.1), what each costs by default and how fast an account may call
 * it: Alibaba's documented 50 a second per action (§5, §8.8). Prices are sanyao's defaults in fen, one entry per
 * action and per Standard twin (§8.2); they are not Alibaba's list prices.
 */
export const CLOUDAUTH_ACTIONS = [
  "Mobile3MetaSimpleVerify",
  "Mobile3MetaDetailVerify",
  "Mobile3MetaSimpleStandardVerify",
  "Mobile3MetaDetailStandardVerify",
  "Mobile2MetaVerify",
  "Id2MetaVerify",
  "Id2MetaStandardVerify",
  "MobileOnlineStatus",
  "MobileOnlineTime",
] as const;
export type CloudauthAction = (typeof CLOUDAUTH_ACTIONS)[number];

export const CLOUDAUTH_PRICES: Readonly<Record<CloudauthAction, { simple: number }>> = {
  Mobile3MetaSimpleVerify: { simple: 30 },
  Mobile3MetaDetailVerify: { simple: 50 },
  Mobile3MetaSimpleStandardVerify: { simple: 30 },
  Mobile3MetaDetailStandardVerify: { simple: 50 },
  Mobile2MetaVerify: { simple: 20 },
  Id2MetaVerify: { simple: 10 },
  Id2MetaStandardVerify: { simple: 10 },
  MobileOnlineStatus: { simple: 10 },
  MobileOnlineTime: { simple: 10 },
};

/** Alibaba's per-action QPS for a tenant. */
export const CLOUDAUTH_RATE_LIMIT = 50;
export const CLOUDAUTH_RATE_LIMITS: Readonly<Record<string, number>> = Object.fromEntries(
  CLOUDAUTH_ACTIONS.map((action) => [action, CLOUDAUTH_RATE_LIMIT]),
);

export const isCloudauthAction = (name: string): name is CloudauthAction => (CLOUDAUTH_ACTIONS as readonly string[]).includes(name);
