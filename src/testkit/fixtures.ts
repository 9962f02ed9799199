/**
 * The built-in fixtures that test keys answer from: records the composition root names (the demo records,
 * app/demo.ts, the demo table in docs/getting-started.md), hashed with the installation's keyring into an in-memory record
 * store. Operator records are never consulted.
 */
import type { Keyring } from "../common/keyring";
import { defaultPolicy } from "../rules/policy";
import { chinaDate } from "../rules/precheck";
import { type Carrier, loadRuleTables } from "../rules/tables";
import { importRows, rowsFrom } from "../sources/import";
import type { DigestRecord, RecordStatus, StoredRecord } from "../store/model";
import { type PackedRecords, unpackRecord } from "../store/packed-records";
import type { RecordRows } from "../store/ports";

const hex = (b: Buffer) => b.toString("hex");

/** Records in memory, the same port as the stores' (a few dozen fixtures: plain maps). */
export class MemoryRecordRows implements RecordRows {
  private readonly byPhone = new Map<string, StoredRecord>();
  private readonly byDigest = new Map<string, { phone: string; pair: Buffer; name?: Buffer }>();

  async upsert(records: readonly StoredRecord[]): Promise<{ replaced: number }> {
    let replaced = 0;
    for (const r of records) {
      const key = hex(r.phoneHash);
      if (this.byPhone.has(key)) replaced++;
      this.byPhone.set(key, { ...r, digests: undefined });
      for (const d of r.digests ?? []) this.byDigest.set(hex(d.key), { phone: key, pair: d.pair, name: d.name });
    }
    return { replaced };
  }

  async load(batches: AsyncIterable<PackedRecords>): Promise<{ loaded: number; replaced: number }> {
    const records: StoredRecord[] = [];
    for await (const { packed, count } of batches) for (let i = 0; i < count; i++) records.push(unpackRecord(packed, i));
    return { loaded: records.length, ...(await this.upsert(records)) };
  }

  async count(): Promise<number> {
    return this.byPhone.size;
  }

  async find(phoneHash: Buffer): Promise<StoredRecord | undefined> {
    return this.byPhone.get(hex(phoneHash));
  }

  async findByIdCard(idCardHash: Buffer, limit: number): Promise<StoredRecord[]> {
    return [...this.byPhone.values()].filter((r) => r.idCardHash.equals(idCardHash)).slice(0, limit);
  }

  async findByDigest(key: Buffer): Promise<DigestRecord | undefined> {
    const d = this.byDigest.get(hex(key));
    const record = d && this.byPhone.get(d.phone);
    return record && d && { ...record, pair: d.pair, ...(d.name && { nameDigest: d.name }) };
  }

  async idCardHeldByOtherName(idCardHash: Buffer, nameHash: Buffer): Promise<boolean> {
    return [...this.byPhone.values()].some((r) => r.idCardHash.equals(idCardHash) && !r.nameHash.equals(nameHash) && r.status === "active");
  }

  async stats(): Promise<Array<{ carrier: Carrier; status: RecordStatus; n: number }>> {
    const counts = new Map<string, { carrier: Carrier; status: RecordStatus; n: number }>();
    for (const { carrier, status } of this.byPhone.values()) {
      const key = `${carrier}|${status}`;
      const c = counts.get(key) ?? { carrier, status, n: 0 };
      c.n++;
      counts.set(key, c);
    }
    return [...counts.values()];
  }
}

/** The fixtures as of the server's China-time day (network tenures are relative to it). */
export async function fixtureRecords(
  records: (todayChina: string) => ReadonlyArray<Record<string, string>>,
  keyring: Keyring,
  nowMs: number,
): Promise<MemoryRecordRows> {
  const rows = new MemoryRecordRows();
  const todayChina = chinaDate(nowMs);
  await importRows(rowsFrom(records(todayChina)), rows, keyring, { tables: loadRuleTables(), policy: defaultPolicy, todayChina });
  return rows;
}
