/** The official Node SDK's FaceID client pointed at a test server, and the three signing modes it is driven in. */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tencentcloud = require("tencentcloud-sdk-nodejs");

type Profile = Record<string, unknown>;

/** The FaceID actions the tests call through the SDK. */
export type FaceIdActionName =
  | "PhoneVerification"
  | "PhoneVerificationCMCC"
  | "PhoneVerificationCTCC"
  | "PhoneVerificationCUCC"
  | "EncryptedPhoneVerification"
  | "CheckPhoneAndName"
  | "IdCardVerification"
  | "MobileStatus"
  | "MobileNetworkTimeVerification";

const ACTION_NAMES: ReadonlySet<string> = new Set<FaceIdActionName>([
  "PhoneVerification",
  "PhoneVerificationCMCC",
  "PhoneVerificationCTCC",
  "PhoneVerificationCUCC",
  "EncryptedPhoneVerification",
  "CheckPhoneAndName",
  "IdCardVerification",
  "MobileStatus",
  "MobileNetworkTimeVerification",
]);

export function isFaceIdActionName(name: string): name is FaceIdActionName {
  return ACTION_NAMES.has(name);
}

/** An SDK client method by action name: each resolves to the Response object without its envelope. */
// biome-ignore lint/suspicious/noExplicitAny: the SDK is untyped JavaScript here, and tests call actions by name
export type FaceIdSdk = Record<FaceIdActionName, (params: Record<string, unknown>) => Promise<any>>;

export function faceidSdk(
  port: number,
  credential: { secretId: string; secretKey: string },
  o: { profile?: Profile; httpProfile?: Profile; language?: "zh-CN" | "en-US" } = {},
): FaceIdSdk {
  return new tencentcloud.faceid.v20180301.Client({
    credential,
    region: "ap-guangzhou",
    profile: {
      ...o.profile,
      ...(o.language && { language: o.language }),
      httpProfile: { endpoint: `localhost:${port}`, protocol: "http://", ...o.httpProfile },
    },
  });
}

/** TC3 POST (JSON), TC3 GET (query) and v1 HmacSHA256 (form): [name, profile, httpProfile]. */
export const SIGNING_MODES: ReadonlyArray<[string, Profile, Profile]> = [
  ["TC3 POST", {}, {}],
  ["TC3 GET", {}, { reqMethod: "GET" }],
  ["v1 HmacSHA256 POST", { signMethod: "HmacSHA256" }, {}],
];
