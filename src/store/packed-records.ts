/**
 * Records on their way into the store in bulk (a file import): fixed-width rows packed into one buffer per batch,
 * so worker threads can hand them over without a JavaScript object per record and the stores can stage them as
 * one blob a row, taking the columns apart in SQL when they merge. Every offset below is zero-based; SQL's
 * substr/substring count from 1.
 *
 *   0   phone hash (32)        32  name hash (32)        64  identity number hash (32)
 *   96  three digest pairs, in DIGEST_ALGORITHMS order: key (16) then pair (16) each
 *   192 carrier code   193 status code   194 line status code (0: none)
 *   195 network_since, 10 ASCII bytes YYYY-MM-DD (zeros: none)
 *   205 the name's md5 digest, keyed (16): it goes on the md5 digest row (the first pair) as its name_digest
 */
import type { Carrier } from "../rules/tables";
import type { LineStatus, RecordStatus, StoredRecord } from "./model";

export const PACKED_RECORD_BYTES = 221;
export const PACKED = {
  phoneHash: 0,
  nameHash: 32,
  idCardHash: 64,
  digests: 96,
  /** bytes of one digest key or pair */
  digestBytes: 16,
  digestCount: 3,
  carrier: 192,
  status: 193,
  lineStatus: 194,
  networkSince: 195,
  nameDigest: 205,
  /** the digest pair whose row keeps the name digest: md5's, the first in DIGEST_ALGORITHMS order */
  nameDigestOf: 0,
} as const;

/** index = code */
export const CARRIER_CODES: readonly Carrier[] = ["", "mobile", "telecom", "cucc", "broadnet"];
export const STATUS_CODES: readonly RecordStatus[] = ["active", "suspended", "busy"];
export const LINE_STATUS_CODES: ReadonlyArray<LineStatus | null> = [null, "normal", "suspended", "cancelled", "not-on-network", "unusable"];

/** Records in bulk: `count` rows of PACKED_RECORD_BYTES in `packed`, in the order they were read (the last of a phone wins). */
export interface PackedRecords {
  packed: Buffer;
  count: number;
}

/** The record at `index` of a batch, as `upsert` takes it (a store without a bulk path of its own, and tests). */
export function unpackRecord(packed: Buffer, index: number): StoredRecord {
  const at = index * PACKED_RECORD_BYTES;
  const slice = (offset: number, length: number) => Buffer.from(packed.subarray(at + offset, at + offset + length));
  const digests = Array.from({ length: PACKED.digestCount }, (_, i) => {
    const offset = PACKED.digests + i * 2 * PACKED.digestBytes;
    const digest = { key: slice(offset, PACKED.digestBytes), pair: slice(offset + PACKED.digestBytes, PACKED.digestBytes) };
    return i === PACKED.nameDigestOf ? { ...digest, name: slice(PACKED.nameDigest, PACKED.digestBytes) } : digest;
  });
  const lineStatus = LINE_STATUS_CODES[packed[at + PACKED.lineStatus] ?? 0] ?? null;
  const since = at + PACKED.networkSince;
  return {
    phoneHash: slice(PACKED.phoneHash, 32),
    nameHash: slice(PACKED.nameHash, 32),
    idCardHash: slice(PACKED.idCardHash, 32),
    carrier: CARRIER_CODES[packed[at + PACKED.carrier] ?? 0] ?? "",
    status: STATUS_CODES[packed[at + PACKED.status] ?? 0] ?? "active",
    ...(lineStatus !== null && { lineStatus }),
    ...(packed[since] !== 0 && { networkSince: packed.toString("latin1", since, since + 10) }),
    digests,
  };
}
