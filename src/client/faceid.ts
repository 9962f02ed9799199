/** FaceID 2018-03-01: PhoneVerification and the rest of the phone family sanyao serves, typed. */
import {
  type CarrierResultCode,
  type EncryptedResultCode,
  type IdCardResultCode,
  type MobileStatusResultCode,
  type NetworkTimeResultCode,
  type PhoneAndNameResultCode,
  RESULTS,
  type ResultCode,
} from "../faceid/results";
import { hexDigest } from "../sources/digests";
import { ApiClient, type ApiResponse, type ClientOptions } from "./base";
import type { EncryptableField, EncryptionObject } from "./field-encryption";

/** Every Result PhoneVerification answers with; `charged` says whether the call is billed. */
export type PhoneVerificationResult = ResultCode;
export const PHONE_VERIFICATION_RESULTS: Readonly<Record<PhoneVerificationResult, { meaning: string; charged: boolean }>> =
  Object.fromEntries(Object.entries(RESULTS).map(([code, r]) => [code, { meaning: r.en, charged: r.charged }])) as Record<
    PhoneVerificationResult,
    { meaning: string; charged: boolean }
  >;

export type ResultDetail = "PhoneIdCardMismatch" | "PhoneNameMismatch" | "PhoneNameIdCardMismatch" | "NameIdCardMismatch" | "OtherMismatch";

export interface PhoneVerificationRequest {
  IdCard: string;
  Name: string;
  Phone: string;
  /** "0" simple (default), "1" detailed: ResultDetail on -4 */
  VerifyMode?: "0" | "1";
  CiphertextBlob?: string;
  EncryptList?: EncryptableField[];
  Iv?: string;
}

/**
 * The inputs of EncryptedPhoneVerification as hex digests (MD5, SHA-256 or SM3 of the UTF-8 values). Pass them
 * normalised as the service compares them: 11-digit phone without +86, an 18-character ID with upper-case X, the
 * name trimmed.
 */
export function hashInputs(
  mode: "1" | "2" | "3",
  values: { Phone: string; Name: string; IdCard: string },
): EncryptedPhoneVerificationRequest {
  const algorithm = ({ "1": "md5", "2": "sha256", "3": "sm3" } as const)[mode];
  const hex = (v: string) => hexDigest(algorithm, v);
  return { Phone: hex(values.Phone), Name: hex(values.Name), IdCard: hex(values.IdCard), EncryptionMode: mode };
}

export interface PhoneVerificationResponse {
  Result: PhoneVerificationResult;
  Description: string;
  /** mobile, telecom, cucc (broadnet on sanyao), or the Chinese names with zh-CN; "" when unknown */
  Isp: string;
  ResultDetail?: ResultDetail;
}

/** PhoneVerificationCMCC / CTCC / CUCC: the number must be of that carrier (another carrier's answers -13). */
export interface CarrierVerificationRequest {
  IdCard: string;
  Name: string;
  Phone: string;
  /** encrypted fields (encryptRequestFields with a public key) */
  Encryption?: EncryptionObject;
}

/**
 * EncryptedPhoneVerification: EncryptionMode "0" plaintext, "1" MD5, "2" SHA-256, "3" SM3 — the three fields then
 * as hex digests of the normalised UTF-8 values (hashInputs). The carrier comes back as `ISP`.
 */
export interface EncryptedPhoneVerificationRequest {
  IdCard: string;
  Name: string;
  Phone: string;
  EncryptionMode: "0" | "1" | "2" | "3";
}

export interface EncryptedPhoneVerificationResponse {
  Result: EncryptedResultCode;
  Description: string;
  ISP: string;
}

export interface CarrierVerificationResponse {
  Result: CarrierResultCode;
  Description: string;
  Isp: string;
}

/** CheckPhoneAndName: `Mobile`, not `Phone`; Result "1" (charged) is a mismatch; no Isp. */
export interface PhoneAndNameRequest {
  Mobile: string;
  Name: string;
  Encryption?: EncryptionObject;
}

export interface PhoneAndNameResponse {
  Result: PhoneAndNameResultCode;
  Description: string;
}

/** IdCardVerification: an identity number and a name; Result "-1" (charged) is a mismatch. */
export interface IdCardVerificationRequest {
  IdCard: string;
  Name: string;
  Encryption?: EncryptionObject;
}

/** MobileStatus and MobileNetworkTimeVerification: one number. */
export interface NumberRequest {
  Mobile: string;
  Encryption?: EncryptionObject;
}

export interface IdCardVerificationResponse {
  Result: IdCardResultCode;
  Description: string;
}

/** MobileStatus: StatusCode 0 normal, 1 suspended, 2 cancelled, 4 not on the network, 5 unusable, 99 unknown. */
export interface MobileStatusResponse {
  Result: MobileStatusResultCode;
  Description: string;
  StatusCode: number;
}

/** MobileNetworkTimeVerification: Range in months, such as "[24,+)"; "" on a failure. */
export interface NetworkTimeResponse {
  Result: NetworkTimeResultCode;
  Description: string;
  Range: string;
}

export class FaceIdClient extends ApiClient {
  constructor(options: ClientOptions) {
    super({ service: "faceid", version: "2018-03-01", defaultEndpoint: "faceid.tencentcloudapi.com" }, options);
  }

  /** With `retry` set, -11 (the verification centre busy, never charged) is retried like a network error. */
  phoneVerification(request: PhoneVerificationRequest): Promise<ApiResponse<PhoneVerificationResponse>> {
    return this.request<PhoneVerificationResponse>("PhoneVerification", request, (r) => r.Result === "-11");
  }

  /** one of PhoneVerificationCMCC, PhoneVerificationCTCC, PhoneVerificationCUCC by name */
  carrierVerification(action: string, request: CarrierVerificationRequest): Promise<ApiResponse<CarrierVerificationResponse>> {
    return this.request<CarrierVerificationResponse>(action, request, (r) => r.Result === "-11");
  }

  phoneVerificationCMCC(request: CarrierVerificationRequest): Promise<ApiResponse<CarrierVerificationResponse>> {
    return this.request<CarrierVerificationResponse>("PhoneVerificationCMCC", request, (r) => r.Result === "-11");
  }

  phoneVerificationCTCC(request: CarrierVerificationRequest): Promise<ApiResponse<CarrierVerificationResponse>> {
    return this.request<CarrierVerificationResponse>("PhoneVerificationCTCC", request, (r) => r.Result === "-11");
  }

  phoneVerificationCUCC(request: CarrierVerificationRequest): Promise<ApiResponse<CarrierVerificationResponse>> {
    return this.request<CarrierVerificationResponse>("PhoneVerificationCUCC", request, (r) => r.Result === "-11");
  }

  /** With `retry` set, -11 (the verification centre busy, never charged) is retried like a network error. */
  encryptedPhoneVerification(request: EncryptedPhoneVerificationRequest): Promise<ApiResponse<EncryptedPhoneVerificationResponse>> {
    return this.request<EncryptedPhoneVerificationResponse>("EncryptedPhoneVerification", request, (r) => r.Result === "-11");
  }

  /** With `retry` set, -3 (the engine's service away, never charged) is retried like a network error. */
  checkPhoneAndName(request: PhoneAndNameRequest): Promise<ApiResponse<PhoneAndNameResponse>> {
    return this.request<PhoneAndNameResponse>("CheckPhoneAndName", request, (r) => r.Result === "-3");
  }

  /** With `retry` set, -3 (the verification centre busy, never charged) is retried like a network error. */
  mobileStatus(request: NumberRequest): Promise<ApiResponse<MobileStatusResponse>> {
    return this.request<MobileStatusResponse>("MobileStatus", request, (r) => r.Result === "-3");
  }

  /** With `retry` set, -4 (the verification centre busy, never charged) is retried like a network error. */
  mobileNetworkTimeVerification(request: NumberRequest): Promise<ApiResponse<NetworkTimeResponse>> {
    return this.request<NetworkTimeResponse>("MobileNetworkTimeVerification", request, (r) => r.Result === "-4");
  }

  /** With `retry` set, -4 (the identity database's service away, never charged) is retried like a network error. */
  idCardVerification(request: IdCardVerificationRequest): Promise<ApiResponse<IdCardVerificationResponse>> {
    return this.request<IdCardVerificationResponse>("IdCardVerification", request, (r) => r.Result === "-4");
  }
}
