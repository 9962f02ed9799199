/** KMS 2019-01-18 on the wire (kms-envelope.md §5): parameters and response fields around KeyService. */
import { ApiError } from "../api3/errors";
import { isPlainObject, type ParamSchema, type ParamsOf } from "../api3/params";
import type { Product } from "../api3/router";
import { defineAction, type ActionContext, type ActionDefinition } from "../call/action";
import type { KmsKey } from "../store/model";
import type { KeyService } from "./keys";

export const KMS_VERSION = "2019-01-18";
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Plaintext: at most 4096 bytes, so at most this much base64; checked before the text is decoded. */
const MAX_PLAINTEXT_BASE64 = Math.ceil(4096 / 3) * 4;
// Enum values are looked up in Maps and Sets: a plain object would answer `constructor` and `__proto__` too.
const DATA_KEY_BYTES: ReadonlyMap<string, number> = new Map([
  ["AES_128", 16],
  ["AES_256", 32],
]);
/** EncryptionAlgorithm's values (kms-envelope.md §5.2); they matter only with EncryptionPublicKey, refused here. */
const ENCRYPTION_ALGORITHMS: ReadonlySet<string> = new Set([
  "SM2",
  "SM2_C1C3C2_ASN1",
  "RSAES_PKCS1_V1_5",
  "RSAES_OAEP_SHA_1",
  "RSAES_OAEP_SHA_256",
]);
/** Names every JavaScript object answers to: refused as EncryptionContext keys, so the pairs can only be the caller's. */
const INHERITED_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

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

/** The EncryptionContext as given (it binds the blob as text): JSON key/value pairs of at most 1024 characters. */
function context(p: { readonly EncryptionContext?: string }): string {
  const value = p.EncryptionContext ?? "";
  if (value === "") return value;
  if (value.length > 1024) throw new ApiError("InvalidParameterValue", "EncryptionContext is at most 1024 characters.");
  let pairs: unknown;
  try {
    pairs = JSON.parse(value);
  } catch {
    pairs = undefined;
  }
  if (!isPlainObject(pairs)) throw new ApiError("InvalidParameterValue", "EncryptionContext is a JSON object of key/value pairs.");
  if (Object.keys(pairs).some((k) => INHERITED_NAMES.has(k))) {
    throw new ApiError("InvalidParameterValue", "An EncryptionContext key names a member every object has.");
  }
  return value;
}

function refuseUnknownAlgorithm(algorithm: string | undefined): void {
  if (algorithm !== undefined && !ENCRYPTION_ALGORITHMS.has(algorithm)) {
    throw new ApiError("InvalidParameterValue", `EncryptionAlgorithm must be one of ${[...ENCRYPTION_ALGORITHMS].join(", ")}.`);
  }
}

function refuseOptions<P extends object>(p: P, names: ReadonlyArray<keyof P & string>): void {
  for (const name of names) {
    const value: unknown = p[name];
    if (value !== undefined && value !== "" && value !== 0) {
      throw new ApiError("UnsupportedOperation", `${name} is not supported by this KMS.`);
    }
  }
}

export function kmsProduct(keys: KeyService, regions: ReadonlySet<string>): Product {
  // KMS is regional: every action names its region (kms-envelope.md §5); the pipeline checks it.
  const action = <const S extends ParamSchema>(
    name: string,
    schema: S,
    handler: (p: ParamsOf<S>, region: string, ctx: ActionContext) => Promise<Record<string, unknown>>,
  ): ActionDefinition =>
    defineAction({
      name,
      schema,
      regions,
      handle: async (p, ctx) => ({ fields: await handler(p, ctx.region ?? "", ctx), billable: false }),
    });

  const actions = [
    action(
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
          alias: p.Alias,
          description: p.Description,
          keyUsage: p.KeyUsage,
          type: p.Type,
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
    ),
    action(
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
        refuseUnknownAlgorithm(p.EncryptionAlgorithm);
        const spec = p.KeySpec === undefined ? undefined : DATA_KEY_BYTES.get(p.KeySpec);
        if (p.KeySpec !== undefined && spec === undefined)
          throw new ApiError("InvalidParameterValue", "KeySpec must be AES_128 or AES_256.");
        let bytes: number;
        if (p.NumberOfBytes !== undefined) {
          bytes = p.NumberOfBytes;
          if (bytes < 1 || bytes > 1024) throw new ApiError("InvalidParameterValue", "NumberOfBytes must be from 1 to 1024.");
        } else if (spec !== undefined) bytes = spec;
        else throw new ApiError("InvalidParameter", "Give KeySpec or NumberOfBytes.");
        const dk = await keys.generateDataKey(ctx.caller.accountId, region, p.KeyId, bytes, context(p));
        return { KeyId: dk.keyId, Plaintext: dk.plaintext.toString("base64"), CiphertextBlob: dk.blob };
      },
    ),
    action(
      "Encrypt",
      { KeyId: { type: "String", required: true }, Plaintext: { type: "String", required: true }, EncryptionContext: { type: "String" } },
      async (p, region, ctx) => {
        const text = p.Plaintext;
        if (text.length === 0 || text.length > MAX_PLAINTEXT_BASE64 || !STRICT_BASE64.test(text)) {
          throw new ApiError("InvalidParameterValue.InvalidPlaintext");
        }
        const plaintext = Buffer.from(text, "base64");
        if (plaintext.length === 0 || plaintext.length > 4096) throw new ApiError("InvalidParameterValue.InvalidPlaintext");
        const blob = await keys.encrypt(ctx.caller.accountId, region, p.KeyId, plaintext, context(p));
        return { CiphertextBlob: blob, KeyId: p.KeyId };
      },
    ),
    action(
      "Decrypt",
      {
        CiphertextBlob: { type: "String", required: true },
        EncryptionContext: { type: "String" },
        EncryptionPublicKey: { type: "String" },
        EncryptionAlgorithm: { type: "String" },
      },
      async (p, region, ctx) => {
        refuseOptions(p, ["EncryptionPublicKey"]);
        refuseUnknownAlgorithm(p.EncryptionAlgorithm);
        const opened = await keys.decrypt(ctx.caller.accountId, region, p.CiphertextBlob, context(p));
        return { KeyId: opened.keyId, Plaintext: opened.plaintext.toString("base64") };
      },
    ),
    action(
      "DescribeKey",
      {
        KeyId: { type: "String", required: true },
        MemberAccount: { type: "Object", fields: { MemberAppId: { type: "Integer" }, MemberUin: { type: "Integer" } } },
      },
      async (p, region, ctx) => ({ KeyMetadata: metadata(await keys.key(ctx.caller.accountId, region, p.KeyId)) }),
    ),
    action(
      "ListKeys",
      { Offset: { type: "Integer" }, Limit: { type: "Integer" }, Role: { type: "Integer" }, HsmClusterId: { type: "String" } },
      async (p, region, ctx) => {
        const offset = p.Offset ?? 0;
        const limit = p.Limit ?? 10;
        if (offset < 0) throw new ApiError("InvalidParameterValue", "Offset must not be negative.");
        if (limit < 1 || limit > 200) throw new ApiError("InvalidParameterValue", "Limit must be from 1 to 200.");
        // Role 1 lists keys cloud products created for the account: there are none here.
        if ((p.Role ?? 0) !== 0) return { Keys: [], TotalCount: 0 };
        const { keyIds, total } = await keys.list(ctx.caller.accountId, region, offset, limit);
        return { Keys: keyIds.map((KeyId) => ({ KeyId })), TotalCount: total };
      },
    ),
    action("EnableKey", { KeyId: { type: "String", required: true } }, async (p, region, ctx) => {
      await keys.setState(ctx.caller.accountId, region, p.KeyId, "Enabled");
      return {};
    }),
    action("DisableKey", { KeyId: { type: "String", required: true } }, async (p, region, ctx) => {
      await keys.setState(ctx.caller.accountId, region, p.KeyId, "Disabled");
      return {};
    }),
  ];

  const definitions = new Map(actions.map((definition) => [definition.name, definition]));
  return { service: "kms", versions: new Map([[KMS_VERSION, definitions]]) };
}
