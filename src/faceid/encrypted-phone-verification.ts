/**
 * EncryptedPhoneVerification (faceid-family.md §3.3, §7.3, §7.16): the three-element check with the inputs as
 * hex MD5, SHA-256 or SM3 digests of the normalised values (EncryptionMode 1–3), or in plaintext (0). Its own
 * table: `-8` is a parameter error, there is no -6, -12 or -13, so no daily cap; the carrier is in `ISP`.
 */
import { ApiError } from "../api3/errors";
import type { ParamSchema } from "../api3/params";
import { type ActionDefinition, defineAction } from "../call/action";
import { DIGEST_HEX_LENGTH, type DigestAlgorithm } from "../sources/digests";
import type { DigestAnswer } from "../sources/contract";
import { answersFrom } from "./answer";
import { ENCRYPTED_RESULTS, ispName } from "./results";
import { withDeadline } from "../common/deadline";
import { admitAccount } from "../steps/admission";
import { admitted, chargeStepFor } from "./admitted";
import type { FaceIdDeps } from "./deps";
import { threeElementCheck } from "./three-elements";

export const ENCRYPTED_PHONE_VERIFICATION = "EncryptedPhoneVerification";

export const ENCRYPTED_PHONE_VERIFICATION_SCHEMA = {
  IdCard: { type: "String", required: true },
  Name: { type: "String", required: true },
  Phone: { type: "String", required: true },
  EncryptionMode: { type: "String", required: true },
} as const satisfies ParamSchema;

/** EncryptionMode → the digest algorithm; "0" is plaintext. */
export const ENCRYPTION_MODES: Readonly<Record<string, DigestAlgorithm | "plaintext">> = {
  "0": "plaintext",
  "1": "md5",
  "2": "sha256",
  "3": "sm3",
};

const HEX = /^[0-9a-fA-F]+$/;
/** The longest digest input read (64 hex characters and spaces around), checked before it is trimmed. */
const MAX_DIGEST_INPUT = 256;

export function encryptedPhoneVerification(deps: FaceIdDeps): ActionDefinition {
  // Mode 0: PhoneVerification's rules mapped onto this table (§7.16): a bad phone, name or segment is -8.
  const plaintext = threeElementCheck(
    {
      action: ENCRYPTED_PHONE_VERIFICATION,
      results: ENCRYPTED_RESULTS,
      dailyCap: false,
      ispField: "ISP",
      rejectedAs: { "-6": "-8", "-13": "-8" },
    },
    deps,
  );
  const answer = answersFrom(ENCRYPTED_RESULTS);
  return defineAction({
    name: ENCRYPTED_PHONE_VERIFICATION,
    schema: ENCRYPTED_PHONE_VERIFICATION_SCHEMA,
    async admit(params, ctx) {
      const algorithm = Object.hasOwn(ENCRYPTION_MODES, params.EncryptionMode) ? ENCRYPTION_MODES[params.EncryptionMode] : undefined;
      if (algorithm === undefined) throw new ApiError("InvalidParameterValue", 'EncryptionMode must be "0", "1", "2" or "3".');
      if (algorithm === "plaintext") {
        return plaintext.admit({ mode: "simple", resultDetail: false, elements: async () => params }, ctx);
      }
      // Hashed inputs: no daily cap (the table has no code for one), so admission is the account and its limit.
      await admitAccount(ENCRYPTED_PHONE_VERIFICATION, deps, ctx.caller, ctx.now);
      const charge = chargeStepFor(ENCRYPTED_PHONE_VERIFICATION, "simple", deps, ctx);
      return admitted(ENCRYPTED_PHONE_VERIFICATION, charge, ctx, async () => {
        const isp = (carrier: Parameters<typeof ispName>[0]) => ({ ISP: ispName(carrier, ctx.language) });
        const given = [params.Phone, params.Name, params.IdCard];
        if (given.some((d) => d.length > MAX_DIGEST_INPUT)) return answer("-8", ctx, undefined, isp(""));
        const digests = given.map((d) => d.trim());
        if (!digests.every((d) => d.length === DIGEST_HEX_LENGTH[algorithm] && HEX.test(d))) return answer("-8", ctx, undefined, isp(""));
        const [phoneHex = "", nameHex = "", idCardHex = ""] = digests.map((d) => d.toLowerCase());

        let found: DigestAnswer;
        try {
          found = await withDeadline(deps.source.verifyDigests({ algorithm, phoneHex, nameHex, idCardHex }), deps.sourceTimeoutMs);
        } catch (err) {
          deps.onError(err, ctx.requestId, "source");
          return answer("-11", ctx, undefined, isp(""));
        }
        if (found.kind === "no-record") return answer("-9", ctx, undefined, isp(""));
        await charge.charge();
        return answer(found.kind === "consistent" ? "0" : "-4", ctx, undefined, isp(found.carrier));
      });
    },
    whenUnavailable: (_params, ctx) => answer("-11", ctx, undefined, { ISP: "" }),
  });
}
