/**
 * The gateway's errors (alibaba-cloudauth.md §4, §8.1): what Alibaba's OpenAPI gateway answers before a product
 * sees the call, with its HTTP status. Messages are Alibaba's own wording and never carry request values.
 */
export const GATEWAY_ERRORS = {
  "InvalidAccessKeyId.NotFound": [404, "Specified access key is not found."],
  "InvalidAccessKeyId.Inactive": [400, "Specified access key is disabled."],
  SignatureDoesNotMatch: [400, "Specified signature is not matched with our calculation."],
  IncompleteSignature: [400, "The request signature does not conform to Aliyun standards."],
  MissingParameter: [400, "A required parameter is missing."],
  InvalidParameter: [400, "A parameter is malformed."],
  "InvalidTimeStamp.Format": [400, "Specified time stamp or date value is not well formatted."],
  "InvalidTimeStamp.Expired": [400, "Specified time stamp or date value is expired."],
  SignatureNonceUsed: [400, "Specified signature nonce was used already."],
  InvalidSignatureMethod: [400, "Specified signature method is not valid."],
  UnsupportedHTTPMethod: [400, "Specified http method is not supported."],
  InvalidVersion: [400, "Specified parameter Version is not valid."],
  "InvalidApi.NotFound": [404, "Specified api is not found, please check your url and method."],
  "Throttling.User": [400, "Request was denied due to user flow control."],
  RequestSizeLimitExceeded: [400, "The request is larger than allowed."],
  InternalError: [500, "The request processing has failed due to some unknown error."],
  ServiceUnavailable: [503, "The request has failed due to a temporary failure of the server."],
} as const satisfies Record<string, readonly [number, string]>;

export type GatewayCode = keyof typeof GATEWAY_ERRORS;

export class GatewayError extends Error {
  constructor(
    readonly code: GatewayCode,
    /** what replaces the catalogue message (a name of a missing parameter, a masked string to sign); never a value */
    readonly detail?: string,
  ) {
    super(code);
  }

  get status(): number {
    return GATEWAY_ERRORS[this.code][0];
  }

  get text(): string {
    return this.detail ?? GATEWAY_ERRORS[this.code][1];
  }
}

export const isGatewayCode = (code: string): code is GatewayCode => Object.hasOwn(GATEWAY_ERRORS, code);
