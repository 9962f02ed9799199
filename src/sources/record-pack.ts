/**
 * A checked record's keyed hashes, written into a packed batch (store/packed-records.ts): the same values as
 * `toStoredRecord` (keyring.hash and recordDigests), computed with the import's faster hasher and with one-shot
 * digests. Runs in the import's worker threads.
 *
 * Phones and identity numbers are unique to a record, names are not (a few thousand names cover most people):
 * a name's keyed hash, its three digests and its md5 digest's keyed hash are kept for the names seen last, seven
 * node:crypto calls of the twenty-nine a record takes (so a name seen before costs nothing for its md5 digest's
 * keyed hash). The cache lives and dies with the worker, in the memory that holds the file's text.
 */
import { hash } from "node:crypto";
import type { KeyedHasher } from "../common/keyed-hasher";
import { type HashedField, keyedHashInput } from "../common/keyring";
import { CARRIER_CODES, LINE_STATUS_CODES, PACKED, PACKED_RECORD_BYTES, STATUS_CODES } from "../store/packed-records";
import { DIGEST_ALGORITHMS, NAME_DIGEST_ALGORITHM } from "./digests";
import type { CheckedRecord } from "./record-rules";

const keyed = (hasher: KeyedHasher, field: HashedField, value: string) => hasher.hmac(keyedHashInput(field, value));
/** the keyed hash's first `bytes` bytes, written at `offset` of `target` */
const keyedInto = (hasher: KeyedHasher, field: HashedField, value: string, target: Buffer, offset: number, bytes: number) =>
  hasher.hmacInto(keyedHashInput(field, value), target, offset, bytes);

/** names kept at most; when full the cache starts again (cheaper than tracking the least used) */
const NAMES_KEPT = 50_000;

interface HashedName {
  keyed: Buffer;
  /** hex digests, in DIGEST_ALGORITHMS order */
  hex: string[];
  /** the md5 digest's keyed hash (digests.ts digestName), whole: 16 bytes of it are packed */
  digestKeyed: Buffer;
}

// The packed layout keeps the name digest on md5's pair: a reordering of DIGEST_ALGORITHMS must move it too.
if (DIGEST_ALGORITHMS[PACKED.nameDigestOf] !== NAME_DIGEST_ALGORITHM) throw new Error("the packed name digest is not md5's");

export class RecordPacker {
  private readonly names = new Map<string, HashedName>();

  constructor(private readonly hasher: KeyedHasher) {}

  /** Writes `record` as the packed row at `index` of `target`. */
  pack(record: CheckedRecord, target: Buffer, index: number): void {
    const hasher = this.hasher;
    const at = index * PACKED_RECORD_BYTES;
    const name = this.hashedName(record.name);
    keyedInto(hasher, "phone", record.phone, target, at + PACKED.phoneHash, 32);
    name.keyed.copy(target, at + PACKED.nameHash);
    name.digestKeyed.copy(target, at + PACKED.nameDigest, 0, PACKED.digestBytes);
    keyedInto(hasher, "idcard", record.idCard, target, at + PACKED.idCardHash, 32);
    let digest = at + PACKED.digests;
    for (let i = 0; i < DIGEST_ALGORITHMS.length; i++) {
      const algorithm = DIGEST_ALGORITHMS[i] ?? "sha256";
      const phoneHex = hash(algorithm, record.phone, "hex");
      const pairText = `${algorithm}:${name.hex[i]}:${hash(algorithm, record.idCard, "hex")}`;
      keyedInto(hasher, "phone-digest", `${algorithm}:${phoneHex}`, target, digest, PACKED.digestBytes);
      keyedInto(hasher, "pair-digest", pairText, target, digest + PACKED.digestBytes, PACKED.digestBytes);
      digest += 2 * PACKED.digestBytes;
    }
    target[at + PACKED.carrier] = CARRIER_CODES.indexOf(record.carrier);
    target[at + PACKED.status] = STATUS_CODES.indexOf(record.status);
    target[at + PACKED.lineStatus] = LINE_STATUS_CODES.indexOf(record.lineStatus ?? null);
    const since = at + PACKED.networkSince;
    if (record.networkSince === undefined) target.fill(0, since, since + 10);
    else target.write(record.networkSince, since, 10, "latin1");
  }

  private hashedName(name: string): HashedName {
    const kept = this.names.get(name);
    if (kept) return kept;
    if (this.names.size >= NAMES_KEPT) this.names.clear();
    const hex = DIGEST_ALGORITHMS.map((a) => hash(a, name, "hex"));
    const digestKeyed = keyed(this.hasher, "name-digest", `${NAME_DIGEST_ALGORITHM}:${hex[PACKED.nameDigestOf]}`);
    const hashed = { keyed: keyed(this.hasher, "name", name), hex, digestKeyed };
    this.names.set(name, hashed);
    return hashed;
  }
}
