/** KMS 2019-01-18: the actions the field-encryption flow needs, typed. */
import { ApiClient, type ApiResponse, type ClientOptions } from "./base";
import type { DataKey } from "./field-encryption";

export interface KeyMetadata {
  KeyId: string;
  Alias: string;
  CreateTime: number;
  Description: string;
  KeyState: "Enabled" | "Disabled" | "PendingDelete" | "PendingImport" | "Archived";
  KeyUsage: string;
  Origin: string;
  [field: string]: unknown;
}

export class KmsClient extends ApiClient {
  constructor(options: ClientOptions) {
    super({ service: "kms", version: "2019-01-18", defaultEndpoint: "kms.tencentcloudapi.com" }, options);
  }

  createKey(req: { Alias: string; Description?: string; KeyUsage?: string; Type?: number }) {
    return this.request<{ KeyId: string; Alias: string; CreateTime: number; Description: string; KeyState: string; KeyUsage: string }>(
      "CreateKey",
      req,
    );
  }

  generateDataKey(req: { KeyId: string; KeySpec?: "AES_128" | "AES_256"; NumberOfBytes?: number; EncryptionContext?: string }) {
    return this.request<{ KeyId: string; Plaintext: string; CiphertextBlob: string }>("GenerateDataKey", req);
  }

  /** A 32-byte data key in the shape encryptRequestFields takes. */
  async dataKey(keyId: string): Promise<DataKey> {
    const r = await this.generateDataKey({ KeyId: keyId, KeySpec: "AES_256" });
    return { plaintext: r.Plaintext, ciphertextBlob: r.CiphertextBlob };
  }

  encrypt(req: { KeyId: string; Plaintext: string; EncryptionContext?: string }) {
    return this.request<{ KeyId: string; CiphertextBlob: string }>("Encrypt", req);
  }

  decrypt(req: { CiphertextBlob: string; EncryptionContext?: string }) {
    return this.request<{ KeyId: string; Plaintext: string }>("Decrypt", req);
  }

  describeKey(req: { KeyId: string }): Promise<ApiResponse<{ KeyMetadata: KeyMetadata }>> {
    return this.request("DescribeKey", req);
  }

  listKeys(req: { Offset?: number; Limit?: number; Role?: number } = {}) {
    return this.request<{ Keys: Array<{ KeyId: string }>; TotalCount: number }>("ListKeys", req);
  }

  enableKey(req: { KeyId: string }) {
    return this.request<Record<string, never>>("EnableKey", req);
  }

  disableKey(req: { KeyId: string }) {
    return this.request<Record<string, never>>("DisableKey", req);
  }
}
