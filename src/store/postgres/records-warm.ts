/**
 * The records' relations read into the database server's page cache when a server starts, as the embedded store
 * reads records.db (sqlite/records-warm.ts): a lookup whose index and heap pages are cached takes about as long at
 * 30,000,000 records as at 10,000; one whose pages are not waits for the disk. An import builds fresh relations, and
 * the database server's cache (its shared buffers, 128 MB by default, and the kernel's) does not hold them after.
 *
 * PostgreSQL reads its own files, so the read is asked of it through pg_prewarm, in its 'read' mode (into the
 * kernel's cache, not the shared buffers other work uses), where the database has the extension: its owner installs
 * it (`CREATE EXTENSION pg_prewarm`), since a server's role need not be allowed to. Without it nothing is read.
 * The indexes come first (a lookup descends them at random), then the heap; records before the digests of the
 * encrypted variants. Read in slices, each a statement well inside the pool's timeout, paced as the embedded read,
 * stopped between two slices when the server stops, and bounded by the relations' size.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Query } from "./tables";

/** 64 MiB of 8 KiB blocks a statement: well under a second even from a disk */
const SLICE_BLOCKS = 8192;
const BYTES_PER_SECOND = 256 << 20;
/** the tables a lookup reads, in the order they are warmed; each one's indexes before its heap */
const TABLES = ["records", "record_digests"] as const;
const SAFE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface Warmed {
  bytes: number;
  of: number;
  seconds: number;
}

interface Relation {
  name: string;
  blocks: number;
  blockBytes: number;
}

/** The schema pg_prewarm lives in, when the database has it and its name needs no quoting. */
async function prewarmSchema(q: Query): Promise<string | undefined> {
  const [row] = await q<{ schema: unknown }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_prewarm'`,
  );
  return typeof row?.schema === "string" && SAFE_NAME.test(row.schema) ? row.schema : undefined;
}

/** The tables' indexes, then each table itself, in this store's schema (the connection's search_path). */
async function relations(q: Query): Promise<Relation[]> {
  const rows = await q<{ name: unknown; blocks: unknown; block_bytes: unknown; rank: unknown }>(
    `SELECT c.oid::regclass::text AS name, pg_relation_size(c.oid) / current_setting('block_size')::int AS blocks,
            current_setting('block_size')::int AS block_bytes,
            array_position($1::text[], t.relname) * 2 + (CASE WHEN c.relkind = 'i' THEN 0 ELSE 1 END) AS rank
       FROM pg_class t
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
       JOIN pg_class c ON c.oid = t.oid OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = t.oid)
      WHERE t.relname = ANY($1::text[]) AND t.relkind = 'r'
      ORDER BY rank, name`,
    [TABLES],
  );
  const found: Relation[] = [];
  for (const r of rows) {
    const blocks = Number(r.blocks);
    const blockBytes = Number(r.block_bytes);
    if (typeof r.name === "string" && Number.isSafeInteger(blocks) && Number.isSafeInteger(blockBytes) && blocks > 0)
      found.push({ name: r.name, blocks, blockBytes });
  }
  return found;
}

export async function warmRecords(q: Query, signal: AbortSignal): Promise<Warmed> {
  const started = performance.now();
  const schema = signal.aborted ? undefined : await prewarmSchema(q);
  if (schema === undefined) return { bytes: 0, of: 0, seconds: 0 };
  const all = await relations(q);
  const of = all.reduce((n, r) => n + r.blocks * r.blockBytes, 0);
  let bytes = 0;
  for (const r of all) {
    for (let first = 0; first < r.blocks && !signal.aborted; first += SLICE_BLOCKS) {
      const last = Math.min(r.blocks, first + SLICE_BLOCKS) - 1;
      // the relation's name is PostgreSQL's own (regclass text), passed as a value; the schema was checked above
      await q(`SELECT ${schema}.pg_prewarm($1::regclass, 'read', 'main', $2, $3)`, [r.name, first, last]);
      bytes += (last - first + 1) * r.blockBytes;
      const ahead = (bytes / BYTES_PER_SECOND) * 1000 - (performance.now() - started);
      if (ahead > 0) await sleep(ahead, undefined, { signal }).catch(() => undefined);
    }
  }
  return { bytes, of, seconds: (performance.now() - started) / 1000 };
}
