/** KMS 2019-01-18 on the wire (kms-envelope.md §5): parameters and response fields around KeyService. */
import { ApiError } from "../api3/errors";
import type { ParamSchema, ParamValues } from "../api3/params";
import type { ActionContext, ActionDefinition, ActionOutcome, Product } from "../api3/router";
import type { KmsKey } from "../store/contract";
import type { KeyService } from "./keys";

export const KMS_VERSION = "2019-01-18";
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATA_KEY_BYTES: Record<string, number> = { AES_128: 16, AES_256: 32 };

type Handler = (p: ParamValues, region: string, ctx: ActionContext) => Promise<Record<string, unknown>>;

function metadata(k: KmsKey): Record<string, unknown> {
  return {
    KeyId: k.keyId,
    Alias: k.alias,
    CreateTime: k.createdAt,
    Description: k.description,
    KeyState: k.state,
    KeyUsage: k.keyUsage,
    Type: 2,
    CreatorUin: Number(k.accountId),
    KeyRotationEnabled: false,
    Owner: "user",
    NextRotateTime: 0,
    DeletionDate: 0,
    Origin: "TENCENT_KMS",
    ValidTo: 0,
    ResourceId: `creatorUin/${k.accountId}/${k.keyId}`,
  };
}

function context(p: ParamValues): string {
  const value = (p.EncryptionContext as string | undefined) ?? "";
  if (value.length > 1024) throw new ApiError("InvalidParameterValue", "EncryptionContext is at most 1024 characters.");
  return value;
}

function refuseOptions(p: ParamValues, names: readonly string[]): void {
  for (const name of names) {
    if (p[name] !== undefined && p[name] !== "" && p[name] !== 0) {
      throw new ApiError("UnsupportedOperation", `${name} is not supported by this KMS.`);
    }
  }
}

export function kmsProduct(keys: KeyService, regions: ReadonlySet<string>): Product {
  const actions: Array<[string, ParamSchema, Handler]> = [
    [
      "CreateKey",
      {
        Alias: { type: "String", required: true },
        Description: { type: "String" },
        KeyUsage: { type: "String" },
        Type: { type: "Integer" },
        Tags: { type: "ObjectArray", fields: { TagKey: { type: "String" }, TagValue: { type: "String" } } },
        HsmClusterId: { type: "String" },
      },
      async (p, region, ctx) => {
        refuseOptions(p, ["HsmClusterId"]);
        const k = await keys.createKey(ctx.caller.accountId, region, {
          alias: p.Alias as string,
          description: p.Description as string | undefined,
          keyUsage: p.KeyUsage as string | undefined,
          type: p.Type as number | undefined,
        });
        return {
          KeyId: k.keyId,
          Alias: k.alias,
          CreateTime: k.createdAt,
          Description: k.description,
          KeyState: k.state,
          KeyUsage: k.keyUsage,
          TagCode: 0,
          TagMsg: "",
          HsmClusterId: "",
        };
      },
    ],
    [
      "GenerateDataKey",
      {
        KeyId: { type: "String", required: true },
        KeySpec: { type: "String" },
        NumberOfBytes: { type: "Integer" },
        EncryptionContext: { type: "String" },
        EncryptionPublicKey: { type: "String" },
        EncryptionAlgorithm: { type: "String" },
        IsHostedByKms: { type: "Integer" },
        DataKeyName: { type: "String" },
        Description: { type: "String" },
        HsmClusterId: { type: "String" },
        Tags: { type: "ObjectArray", fields: { TagKey: { type: "String" }, TagValue: { type: "String" } } },
      },
      async (p, region, ctx) => {
        refuseOptions(p, ["EncryptionPublicKey", "IsHostedByKms", "HsmClusterId"]);
        let bytes: number;
        if (p.NumberOfBytes !== undefined) {
          bytes = p.NumberOfBytes as number;
          if (bytes < 1 || bytes > 1024) throw new ApiError("InvalidParameterValue", "NumberOfBytes must be from 1 to 1024.");
        } else if (p.KeySpec !== undefined) {
          const spec = DATA_KEY_BYTES[p.KeySpec as string];
          if (!spec) throw new ApiError("InvalidParameterValue", "KeySpec must be AES_128 or AES_256.");
          bytes = spec;
        } else throw new ApiError("InvalidParameter", "Give KeySpec or NumberOfBytes.");
        const dk = await keys.generateDataKey(ctx.caller.accountId, region, p.KeyId as string, bytes, context(p));
        return { KeyId: dk.keyId, Plaintext: dk.plaintext.toString("base64"), CiphertextBlob: dk.blob };
      },
    ],
    [
      "Encrypt",
      { KeyId: { type: "String", required: true }, Plaintext: { type: "String", required: true }, EncryptionContext: { type: "String" } },
      async (p, region, ctx) => {
        const text = p.Plaintext as string;
        const plaintext = Buffer.from(text, "base64");
        if (!STRICT_BASE64.test(text) || plaintext.length === 0 || plaintext.length > 4096) {
          throw new ApiError("InvalidParameterValue.InvalidPlaintext");
        }
        const blob = await keys.encrypt(ctx.caller.accountId, region, p.KeyId as string, plaintext, context(p));
        return { CiphertextBlob: blob, KeyId: p.KeyId };
      },
    ],
    [
      "Decrypt",
      {
        CiphertextBlob: { type: "String", required: true },
        EncryptionContext: { type: "String" },
        EncryptionPublicKey: { type: "String" },
        EncryptionAlgorithm: { type: "String" },
      },
      async (p, region, ctx) => {
        refuseOptions(p, ["EncryptionPublicKey"]);
        const opened = await keys.decrypt(ctx.caller.accountId, region, p.CiphertextBlob as string, context(p));
        return { KeyId: opened.keyId, Plaintext: opened.plaintext.toString("base64") };
      },
    ],
    [
      "DescribeKey",
      {
        KeyId: { type: "String", required: true },
        MemberAccount: { type: "Object", fields: { MemberAppId: { type: "Integer" }, MemberUin: { type: "Integer" } } },
      },
      async (p, region, ctx) => ({ KeyMetadata: metadata(await keys.key(ctx.caller.accountId, region, p.KeyId as string)) }),
    ],
    [
      "ListKeys",
      { Offset: { type: "Integer" }, Limit: { type: "Integer" }, Role: { type: "Integer" }, HsmClusterId: { type: "String" } },
      async (p, region, ctx) => {
        const offset = (p.Offset as number | undefined) ?? 0;
        const limit = (p.Limit as number | undefined) ?? 10;
        if (offset < 0) throw new ApiError("InvalidParameterValue", "Offset must not be negative.");
        if (limit < 1 || limit > 200) throw new ApiError("InvalidParameterValue", "Limit must be from 1 to 200.");
        // Role 1 lists keys cloud products created for the account: there are none here.
        if (((p.Role as number | undefined) ?? 0) !== 0) return { Keys: [], TotalCount: 0 };
        const { keyIds, total } = await keys.list(ctx.caller.accountId, region, offset, limit);
        return { Keys: keyIds.map((KeyId) => ({ KeyId })), TotalCount: total };
      },
    ],
    [
      "EnableKey",
      { KeyId: { type: "String", required: true } },
      async (p, region, ctx) => {
        await keys.setState(ctx.caller.accountId, region, p.KeyId as string, "Enabled");
        return {};
      },
    ],
    [
      "DisableKey",
      { KeyId: { type: "String", required: true } },
      async (p, region, ctx) => {
        await keys.setState(ctx.caller.accountId, region, p.KeyId as string, "Disabled");
        return {};
      },
    ],
  ];

  const definitions = new Map<string, ActionDefinition>(
    actions.map(([name, schema, handler]) => [
      name,
      {
        name,
        schema,
        // KMS is regional: every action names its region (kms-envelope.md §5); the pipeline checks it.
        regions,
        async handle(params: ParamValues, ctx: ActionContext): Promise<ActionOutcome> {
          return { fields: await handler(params, ctx.region!, ctx), billable: false };
        },
      },
    ]),
  );
  return { service: "kms", versions: new Map([[KMS_VERSION, definitions]]) };
}
