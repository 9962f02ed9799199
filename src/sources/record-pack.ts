/**
 * A checked record's keyed hashes, written into a packed batch (store/packed-records.ts): the same values as
 * `toStoredRecord` (keyring.hash and recordDigests), computed with the import's faster hasher and with one-shot
 * digests. Runs in the import's worker threads.
 */
import { hash } from "node:crypto";
import type { KeyedHasher } from "../common/keyed-hasher";
import type { HashedField } from "../common/keyring";
import { CARRIER_CODES, LINE_STATUS_CODES, PACKED, PACKED_RECORD_BYTES, STATUS_CODES } from "../store/packed-records";
import { DIGEST_ALGORITHMS } from "./digests";
import type { CheckedRecord } from "./record-rules";

const keyed = (hasher: KeyedHasher, field: HashedField, value: string) => hasher.hmac(`${field}\u0000${value}`);

/** Writes `record` as the packed row at `index` of `target`. */
export function packRecord(hasher: KeyedHasher, record: CheckedRecord, target: Buffer, index: number): void {
  const at = index * PACKED_RECORD_BYTES;
  keyed(hasher, "phone", record.phone).copy(target, at + PACKED.phoneHash);
  keyed(hasher, "name", record.name).copy(target, at + PACKED.nameHash);
  keyed(hasher, "idcard", record.idCard).copy(target, at + PACKED.idCardHash);
  let digest = at + PACKED.digests;
  for (const algorithm of DIGEST_ALGORITHMS) {
    const phoneHex = hash(algorithm, record.phone, "hex");
    const pairText = `${algorithm}:${hash(algorithm, record.name, "hex")}:${hash(algorithm, record.idCard, "hex")}`;
    keyed(hasher, "phone-digest", `${algorithm}:${phoneHex}`).copy(target, digest, 0, PACKED.digestBytes);
    keyed(hasher, "pair-digest", pairText).copy(target, digest + PACKED.digestBytes, 0, PACKED.digestBytes);
    digest += 2 * PACKED.digestBytes;
  }
  target[at + PACKED.carrier] = CARRIER_CODES.indexOf(record.carrier);
  target[at + PACKED.status] = STATUS_CODES.indexOf(record.status);
  target[at + PACKED.lineStatus] = LINE_STATUS_CODES.indexOf(record.lineStatus ?? null);
  const since = at + PACKED.networkSince;
  if (record.networkSince === undefined) target.fill(0, since, since + 10);
  else target.write(record.networkSince, since, 10, "latin1");
}
