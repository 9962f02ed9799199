/** The sanyao package: the typed client for FaceID PhoneVerification and KMS, and the server for embedding. */
export { FaceIdClient, hashInputs, PHONE_VERIFICATION_RESULTS } from "./client/faceid";
export type {
  CarrierVerificationRequest,
  CarrierVerificationResponse,
  EncryptedPhoneVerificationRequest,
  EncryptedPhoneVerificationResponse,
  NumberRequest,
  IdCardVerificationRequest,
  IdCardVerificationResponse,
  MobileStatusResponse,
  NetworkTimeResponse,
  PhoneAndNameRequest,
  PhoneAndNameResponse,
  PhoneVerificationRequest,
  PhoneVerificationResponse,
  PhoneVerificationResult,
  ResultDetail,
} from "./client/faceid";
export { KmsClient } from "./client/kms";
export type { KeyMetadata } from "./client/kms";
export type { ClientOptions, RetryOptions, SignMethod, ApiResponse } from "./client/base";
export { TencentCloudError, ClientNetworkError } from "./client/errors";
export { encryptRequestFields, encryptField, randomIv } from "./client/field-encryption";
export type { DataKey, EncryptableField, EncryptionObject, PublicKeyEncryption } from "./client/field-encryption";
export { startServer } from "./app/server";
export type { RunningServer, ServerOptions } from "./app/server";
export { loadConfig } from "./app/config";
