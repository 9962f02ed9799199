/** The records source: subscriber records the operator imported, compared by keyed hash. */
import type { Keyring } from "../common/keyring";
import type { RecordRows } from "../store/ports";
import { UnavailableError } from "../common/unavailable";
import { type DigestAlgorithm, digestKey, digestName, digestPair, NAME_DIGEST_ALGORITHM } from "./digests";
import type {
  DigestAnswer,
  DigestElements,
  IdCardAndNameAnswer,
  NormalisedElements,
  NumberAnswer,
  NumberDigestAnswer,
  PhoneAndNameAnswer,
  PhoneAndNameDigestAnswer,
  PhoneAndNameDigests,
  SourceAnswer,
  VerificationSource,
} from "./contract";

export class RecordsSource implements VerificationSource {
  constructor(
    private readonly records: Pick<RecordRows, "find" | "findByIdCard" | "findByDigest" | "idCardHeldByOtherName">,
    private readonly keyring: Keyring,
  ) {}

  async verify(e: NormalisedElements): Promise<SourceAnswer> {
    const record = await this.records.find(this.keyring.hash("phone", e.phone));
    if (!record) return { kind: "no-record" };
    if (record.status === "busy") throw new UnavailableError("source", new Error("the record is marked busy"));
    const carrier = record.carrier;
    if (record.status === "suspended") return { kind: "inconsistent", detail: "OtherMismatch", carrier };

    const nameHash = this.keyring.hash("name", e.name);
    const idCardHash = this.keyring.hash("idcard", e.idCard);
    const nameMatches = nameHash.equals(record.nameHash);
    const idMatches = idCardHash.equals(record.idCardHash);
    if (nameMatches && idMatches) return { kind: "consistent", carrier };
    if (nameMatches) return { kind: "inconsistent", detail: "PhoneIdCardMismatch", carrier };
    if (idMatches) return { kind: "inconsistent", detail: "PhoneNameMismatch", carrier };
    // Neither agrees with the number; if the records pair this identity number with yet another name, the
    // name and number do not belong to each other either.
    const otherHolder = await this.records.idCardHeldByOtherName(idCardHash, nameHash);
    return { kind: "inconsistent", detail: otherHolder ? "NameIdCardMismatch" : "PhoneNameIdCardMismatch", carrier };
  }

  async verifyDigests(e: DigestElements): Promise<DigestAnswer> {
    const record = await this.records.findByDigest(digestKey(this.keyring, e.algorithm, e.phoneHex));
    if (!record) return { kind: "no-record" };
    if (record.status === "busy") throw new UnavailableError("source", new Error("the record is marked busy"));
    const { carrier } = record;
    const holder = { phoneHash: record.phoneHash, idCardHash: record.idCardHash };
    if (record.status === "suspended") return { kind: "inconsistent", carrier, holder };
    const pair = digestPair(this.keyring, e.algorithm, e.nameHex, e.idCardHex);
    return pair.equals(record.pair) ? { kind: "consistent", carrier, holder } : { kind: "inconsistent", carrier, holder };
  }

  /** By the md5 row of the number's digest and the name digest it keeps (Cloudauth's Mobile2MetaVerify, md5 mode). */
  async verifyPhoneAndNameDigests(e: PhoneAndNameDigests): Promise<PhoneAndNameDigestAnswer> {
    const record = await this.records.findByDigest(digestKey(this.keyring, NAME_DIGEST_ALGORITHM, e.phoneHex));
    // A row from before the name digest was kept cannot be compared: as far as this check knows, no record.
    if (!record?.nameDigest) return { kind: "no-record" };
    if (record.status === "busy") throw new UnavailableError("source", new Error("the record is marked busy"));
    const { carrier } = record;
    const holder = { phoneHash: record.phoneHash, idCardHash: record.idCardHash };
    if (record.status === "suspended") return { kind: "inconsistent", carrier, holder };
    const matches = digestName(this.keyring, e.nameHex).equals(record.nameDigest);
    return { kind: matches ? "consistent" : "inconsistent", carrier, holder };
  }

  async verifyPhoneAndName(e: Pick<NormalisedElements, "phone" | "name">): Promise<PhoneAndNameAnswer> {
    const record = await this.records.find(this.keyring.hash("phone", e.phone));
    if (!record) return { kind: "no-record" };
    if (record.status === "busy") throw new UnavailableError("source", new Error("the record is marked busy"));
    if (record.status === "suspended") return { kind: "inconsistent" };
    return this.keyring.hash("name", e.name).equals(record.nameHash) ? { kind: "consistent" } : { kind: "inconsistent" };
  }

  async lookUpNumber(phone: string): Promise<NumberAnswer> {
    const record = await this.records.find(this.keyring.hash("phone", phone));
    if (!record) return { kind: "no-record" };
    if (record.status === "busy") throw new UnavailableError("source", new Error("the record is marked busy"));
    return { kind: "on-record", lineStatus: record.lineStatus, networkSince: record.networkSince };
  }

  /** One number's line by the digest of the number (Cloudauth's MobileOnline* in md5 mode). */
  async lookUpNumberDigest(algorithm: DigestAlgorithm, phoneHex: string): Promise<NumberDigestAnswer> {
    const record = await this.records.findByDigest(digestKey(this.keyring, algorithm, phoneHex));
    if (!record) return { kind: "no-record" };
    if (record.status === "busy") throw new UnavailableError("source", new Error("the record is marked busy"));
    return { kind: "on-record", lineStatus: record.lineStatus, networkSince: record.networkSince, phoneHash: record.phoneHash };
  }

  /** The identity number's records (one per number it holds): consistent when an active one carries the name. */
  async verifyIdCardAndName(e: Pick<NormalisedElements, "idCard" | "name">): Promise<IdCardAndNameAnswer> {
    const held = await this.records.findByIdCard(this.keyring.hash("idcard", e.idCard), MAX_NUMBERS_PER_ID);
    if (held.length === 0) return { kind: "no-record" };
    if (held.some((r) => r.status === "busy")) throw new UnavailableError("source", new Error("a record is marked busy"));
    const nameHash = this.keyring.hash("name", e.name);
    return held.some((r) => r.status === "active" && r.nameHash.equals(nameHash)) ? { kind: "consistent" } : { kind: "inconsistent" };
  }
}

/** More numbers than this under one identity number are not looked at (a person has a handful). */
const MAX_NUMBERS_PER_ID = 100;
