/**
 * The records read into the database server's page cache when a server starts, as the embedded store reads
 * records.db (sqlite/records-warm.ts): a lookup whose index and heap pages are cached takes about as long at
 * 30,000,000 records as at 10,000; one whose pages are not waits for the disk. An import builds fresh relations, and
 * the database server's caches (its shared buffers, 128 MB by default, and the kernel's) do not hold them after.
 *
 * PostgreSQL reads its own files, so the read is asked of it through pg_prewarm, in its 'read' mode (into the
 * kernel's cache, not the shared buffers other work uses), where the database has the extension: a superuser
 * installs it (`CREATE EXTENSION pg_prewarm`); a server's role only calls it. Without it nothing is read.
 *
 * The function called is the extension's own, found by its exact signature and its membership of the extension, and
 * called with every argument typed: a function of the same name that another role put beside it is never chosen.
 * Each table's indexes come before it (a lookup descends them at random), the records before the digests of the
 * encrypted variants. Read in slices of 16 MiB, each one statement well inside the pool's timeout, paced as the
 * embedded read, and stopped between two slices when the server stops. A relation that changed meanwhile (an import
 * swaps in fresh ones) is read as far as it goes now; one that fails is left, and the read goes on to the next.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Warmed } from "../ports";
import type { Query } from "./tables";

const SLICE_BYTES = 16 << 20;
const BYTES_PER_SECOND = 256 << 20;
/** the tables a lookup reads, in the order they are read */
const TABLES = ["records", "record_digests"];

interface Relation {
  oid: string;
  blocks: number;
}

/** pg_prewarm(regclass, text, text, int8, int8) of the extension, as PostgreSQL quotes it; undefined: not installed */
async function prewarmFunction(q: Query): Promise<string | undefined> {
  const [row] = await q<{ fn: unknown }>(
    `SELECT quote_ident(n.nspname) || '.pg_prewarm' AS fn
       FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = 'pg_prewarm'
        AND EXISTS (SELECT 1 FROM pg_depend d
                     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
                       AND d.classid = 'pg_proc'::regclass
                       AND d.objid = to_regprocedure(format('%I.pg_prewarm(regclass,text,text,bigint,bigint)', n.nspname)))`,
  );
  return typeof row?.fn === "string" ? row.fn : undefined;
}

/** Each table's indexes, then the table, in this store's schema (the connection's search_path); the block size. */
async function relations(q: Query): Promise<{ relations: Relation[]; blockBytes: number }> {
  const rows = await q<{ oid: unknown; blocks: unknown; block_bytes: unknown }>(
    `SELECT c.oid::text AS oid, (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS blocks,
            current_setting('block_size') AS block_bytes
       FROM pg_class t
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
       JOIN pg_class c ON c.oid = t.oid OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = t.oid)
      WHERE t.relname = ANY($1::text[]) AND t.relkind = 'r'
      ORDER BY array_position($1::text[], t.relname::text), c.relkind = 'r', c.relname`,
    [TABLES],
  );
  const found: Relation[] = [];
  let blockBytes = 8192;
  for (const r of rows) {
    if (typeof r.block_bytes === "string" && /^[1-9][0-9]{3,5}$/.test(r.block_bytes)) blockBytes = Number(r.block_bytes);
    if (typeof r.oid === "string" && /^[1-9][0-9]*$/.test(r.oid) && typeof r.blocks === "string" && /^[1-9][0-9]*$/.test(r.blocks))
      found.push({ oid: r.oid, blocks: Number(r.blocks) });
  }
  return { relations: found, blockBytes };
}

export async function warmRecords(q: Query, signal: AbortSignal): Promise<Warmed> {
  const started = performance.now();
  const fn = signal.aborted ? undefined : await prewarmFunction(q);
  if (fn === undefined) return { bytes: 0, of: 0, seconds: 0, skipped: "pg_prewarm is not installed in the database" };
  const { relations: all, blockBytes } = await relations(q);
  const sliceBlocks = Math.max(1, Math.floor(SLICE_BYTES / blockBytes));
  const of = all.reduce((n, r) => n + r.blocks, 0) * blockBytes;
  let bytes = 0;
  let failed: Warmed["failed"];
  for (const r of all) {
    try {
      for (let first = 0; first < r.blocks && !signal.aborted; first += sliceBlocks) {
        // As far as the relation goes now: nothing when it is gone or shorter (a swap by an import).
        const [row] = await q<{ blocks: unknown }>(
          `SELECT ${fn}($1::oid::regclass, 'read'::text, 'main'::text, $2::int8, least($3::int8, size - 1))::text AS blocks
             FROM (SELECT pg_relation_size($1::oid) / current_setting('block_size')::int8 AS size) s
            WHERE $2::int8 < size`,
          [r.oid, first, first + sliceBlocks - 1],
        );
        if (typeof row?.blocks !== "string" || !/^[0-9]+$/.test(row.blocks)) break;
        bytes += Number(row.blocks) * blockBytes;
        const ahead = (bytes / BYTES_PER_SECOND) * 1000 - (performance.now() - started);
        if (ahead > 0) await sleep(ahead, undefined, { signal }).catch(() => undefined);
      }
    } catch (err) {
      if (signal.aborted) break;
      // This relation is left; the others are still worth reading. A lost connection fails them all alike.
      failed = { relations: (failed?.relations ?? 0) + 1, first: failed?.first ?? (err instanceof Error ? err.message : String(err)) };
    }
  }
  return { bytes, of, seconds: (performance.now() - started) / 1000, ...(failed ? { failed } : {}) };
}
