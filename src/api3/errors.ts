/**
 * Every API 3.0 error code this server emits, the common ones and FaceID's own, with its en-US and zh-CN message.
 * Handlers throw ApiError with a code from this table; the envelope and the tests read the same table. Messages
 * never contain request values.
 */
export const ERRORS = {
  "AuthFailure.InvalidAuthorization": [
    "The Authorization header is malformed or not in TC3-HMAC-SHA256 form.",
    "请求头部的 Authorization 不符合腾讯云标准。",
  ],
  "AuthFailure.InvalidSecretId": ["The SecretId is not a valid API key identifier.", "密钥非法（不是云 API 密钥类型）。"],
  "AuthFailure.SecretIdNotFound": ["The SecretId does not exist or has been disabled.", "密钥不存在或已被禁用。"],
  "AuthFailure.SignatureExpire": [
    "The request timestamp is more than five minutes away from server time.",
    "签名过期，Timestamp 与服务器时间相差超过五分钟。",
  ],
  "AuthFailure.SignatureFailure": ["The signature does not match the request.", "签名错误。"],
  "AuthFailure.TokenFailure": ["The session token is missing or invalid.", "token 错误。"],
  "FailedOperation.DecryptError": ["The ciphertext could not be decrypted with this key and context.", "解密失败。"],
  "FailedOperation.DecryptSystemError": ["Decryption failed.", "解密失败。"],
  "FailedOperation.RequestLimitExceeded": [
    "Too many encrypted fields sent with this SecretId failed to decrypt: its encrypted calls are refused until the window ends.",
    "该密钥的加密字段解密失败次数过多，加密请求暂被拒绝，请稍后再试。",
  ],
  "FailedOperation.StsUnAuthErrError": ["The account has not authorised the service to use its KMS keys.", "STS 未授权。"],
  "FailedOperation.UnKnown": ["An internal error occurred.", "内部未知错误。"],
  InternalError: ["An internal error occurred.", "内部错误。"],
  InvalidAction: ["The action does not exist for this product and version.", "接口不存在。"],
  InvalidParameter: ["A parameter is malformed.", "参数错误。"],
  "InvalidParameter.UnsupportEncryptField": ["EncryptList names a field that cannot be encrypted.", "不支持的加密字段。"],
  InvalidParameterValue: ["A parameter value is not allowed.", "参数取值错误。"],
  "InvalidParameterValue.AliasAlreadyExists": ["The alias is already used in this region.", "别名已经存在。"],
  "InvalidParameterValue.InvalidAlias": [
    "The alias must be 1 to 60 letters, digits, '-' or '_', starting with a letter or digit.",
    "别名格式错误。",
  ],
  "InvalidParameterValue.InvalidCiphertext": ["The CiphertextBlob is malformed.", "密文格式错误。"],
  "InvalidParameterValue.InvalidKeyId": ["The KeyId is malformed.", "KeyId 不合法。"],
  "InvalidParameterValue.InvalidKeyUsage": ["The KeyUsage is not supported.", "KeyUsage 参数错误。"],
  "InvalidParameterValue.InvalidPlaintext": ["The Plaintext must be base64 of at most 4096 bytes.", "Plaintext 不合法。"],
  "InvalidParameterValue.InvalidType": ["The key Type is not supported.", "Type 参数错误。"],
  "LimitExceeded.CmkLimitExceeded": ["The account has too many keys.", "CMK 数量已达上限。"],
  MissingParameter: ["A required parameter is missing.", "缺少参数。"],
  NoSuchProduct: ["The product does not exist.", "产品不存在。"],
  NoSuchVersion: ["The API version does not exist for this product.", "接口版本不存在。"],
  RequestLimitExceeded: ["The request rate limit has been exceeded.", "请求的次数超过了频率限制。"],
  RequestSizeLimitExceeded: ["The request is larger than allowed.", "请求包超过限制大小。"],
  "ResourceUnavailable.CmkDisabled": ["The key is disabled.", "CMK 已被禁用。"],
  "ResourceUnavailable.CmkNotFound": ["The key does not exist in this account and region.", "CMK 不存在。"],
  ServiceUnavailable: ["The service is temporarily unavailable.", "当前服务暂时不可用。"],
  "UnauthorizedOperation.Arrears": ["The account is in arrears.", "账户已欠费。"],
  "UnauthorizedOperation.ChargeStatusException": ["The account's billing status is abnormal.", "计费状态异常。"],
  "UnauthorizedOperation.NonAuthorize": ["The account's identity verification is not completed.", "账号未实名认证。"],
  "UnauthorizedOperation.Nonactivated": ["The service is not activated for this account.", "未开通服务。"],
  UnknownParameter: ["An unknown parameter was supplied.", "未知参数错误。"],
  UnsupportedOperation: ["The operation is not supported.", "操作不支持。"],
  UnsupportedRegion: ["The region is not served by this API.", "接口不支持所传地域。"],
  UnsupportedProtocol: ["Only GET and POST requests are supported.", "HTTP 请求方法不支持，仅支持 GET 和 POST。"],
} as const satisfies Record<string, readonly [string, string]>;

export type ErrorCode = keyof typeof ERRORS;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code);
export type Language = "en-US" | "zh-CN";

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    /** extra detail in English, appended to the catalogue message; must never carry request values */
    readonly detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
  }

  messageIn(language: Language): string {
    const base = ERRORS[this.code][language === "zh-CN" ? 1 : 0];
    return this.detail ? `${base} ${this.detail}` : base;
  }
}
