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
 * The digests are read first and the records' indexes last, each table's heap before its indexes: where the cache
 * is smaller than what is read, the last read is what stays, and a lookup descends the records' indexes at random.
 * At most the kernel's share of effective_cache_size is read: effective_cache_size is PostgreSQL's figure for the
 * cache its data files can count on (4 GB unless set), the one an operator sets for this host, unlike the embedded
 * read's memory available, which the process can measure; it counts the shared buffers too, which 'read' does not
 * fill, so they are taken off. Taken from the records' indexes back: the relation that no longer fits whole is read
 * from its start as far as the bound goes, and those before it not at all.
 * Read in slices of 4 MiB, each one short statement (a slice holds its relation's share lock, which an import's swap
 * waits for, and lookups behind the swap), paced as the embedded read, and stopped between two slices when the
 * server stops. A relation an import swapped away meanwhile is not read further (its fresh one is read at the next
 * start); one that fails is left, and the read goes on to the next.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Warmed } from "../ports";
import type { Query } from "./tables";

const SLICE_BYTES = 4 << 20;
const BYTES_PER_SECOND = 256 << 20;
/** the tables a lookup reads, in the order they are read: the last read stays cached where not all can */
const TABLES = ["record_digests", "records"];
/** a schema's name as quote_ident gives it, then the function */
const QUOTED_FUNCTION = /^(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")\.pg_prewarm$/;

export interface Relation {
  oid: string;
  blocks: number;
}

/**
 * pg_prewarm(regclass, text, text, int8, int8) of the extension, as PostgreSQL quotes it, when this role may call it;
 * undefined: not installed, or not this role's to call.
 */
async function prewarmFunction(q: Query): Promise<string | undefined> {
  const [row] = await q<{ fn: unknown }>(
    `SELECT quote_ident(n.nspname) || '.pg_prewarm' AS fn
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
       CROSS JOIN LATERAL pg_catalog.to_regprocedure(
         pg_catalog.format('%I.pg_prewarm(regclass,text,text,bigint,bigint)', n.nspname)) AS f(fn)
      WHERE e.extname = 'pg_prewarm'
        AND pg_catalog.has_function_privilege(f.fn, 'EXECUTE')
        AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
                       AND d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = f.fn)`,
  );
  return typeof row?.fn === "string" && QUOTED_FUNCTION.test(row.fn) ? row.fn : undefined;
}

/** Each table, then its indexes, in this store's schema (the connection's search_path); the block size; the bound in bytes. */
async function relations(q: Query): Promise<{ relations: Relation[]; blockBytes: number; cacheBytes: number }> {
  const rows = await q<{ oid: unknown; blocks: unknown; block_bytes: unknown; cache_bytes: unknown }>(
    `SELECT c.oid::text AS oid,
            (pg_catalog.pg_relation_size(c.oid::regclass) / pg_catalog.current_setting('block_size')::int)::text AS blocks,
            pg_catalog.current_setting('block_size') AS block_bytes,
            greatest(0, pg_catalog.pg_size_bytes(pg_catalog.current_setting('effective_cache_size'))
                      - pg_catalog.pg_size_bytes(pg_catalog.current_setting('shared_buffers')))::text AS cache_bytes
       FROM pg_catalog.pg_class t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace AND n.nspname = pg_catalog.current_schema()
       JOIN pg_catalog.pg_class c
         ON c.oid = t.oid OR c.oid IN (SELECT indexrelid FROM pg_catalog.pg_index WHERE indrelid = t.oid)
      WHERE t.relname = ANY($1::text[]) AND t.relkind = 'r'
      ORDER BY pg_catalog.array_position($1::text[], t.relname::text), c.relkind <> 'r', c.relname`,
    [TABLES],
  );
  const found: Relation[] = [];
  let blockBytes = 8192;
  let cacheBytes = Number.POSITIVE_INFINITY;
  for (const r of rows) {
    if (typeof r.block_bytes === "string" && /^[1-9][0-9]{3,5}$/.test(r.block_bytes)) blockBytes = Number(r.block_bytes);
    if (typeof r.cache_bytes === "string" && /^[0-9]{1,19}$/.test(r.cache_bytes)) cacheBytes = Number(r.cache_bytes);
    if (typeof r.oid === "string" && /^[1-9][0-9]*$/.test(r.oid) && typeof r.blocks === "string" && /^[1-9][0-9]*$/.test(r.blocks))
      found.push({ oid: r.oid, blocks: Number(r.blocks) });
  }
  return { relations: found, blockBytes, cacheBytes };
}

/**
 * What fits in `blocks`, taken from the last relation back (the records' indexes first): the one that no longer fits
 * whole is read from its start as far as the bound goes, and those before it are left.
 */
export function withinBound(all: readonly Relation[], blocks: number): Relation[] {
  const chosen: Relation[] = [];
  let left = blocks;
  for (const r of [...all].reverse()) {
    const taken = Math.min(r.blocks, left);
    if (taken <= 0) break;
    chosen.unshift({ oid: r.oid, blocks: taken });
    left -= taken;
  }
  return chosen;
}

export async function warmRecords(q: Query, signal: AbortSignal): Promise<Warmed> {
  const started = performance.now();
  const nothing = (skipped: string): Warmed => ({ bytes: 0, of: 0, seconds: 0, skipped });
  const stopped = nothing("the server stopped");
  if (signal.aborted) return stopped;
  const fn = await prewarmFunction(q);
  if (fn === undefined) return nothing("pg_prewarm is not installed in the database, or not this role's to call");
  if (signal.aborted) return stopped;
  const { relations: all, blockBytes, cacheBytes } = await relations(q);
  if (cacheBytes < blockBytes) return nothing("effective_cache_size less shared_buffers leaves no room for the read");
  const sliceBlocks = Math.max(1, Math.floor(SLICE_BYTES / blockBytes));
  const total = all.reduce((n, r) => n + r.blocks, 0);
  const chosen = withinBound(all, Math.floor(cacheBytes / blockBytes));
  const of = chosen.reduce((n, r) => n + r.blocks, 0) * blockBytes;
  let bytes = 0;
  let failed: Warmed["failed"];
  for (const r of chosen) {
    try {
      for (let first = 0; first < r.blocks && !signal.aborted; first += sliceBlocks) {
        // As far as the relation goes now: nothing once it is gone (swapped away by an import) or shorter.
        const [row] = await q<{ blocks: unknown }>(
          `SELECT ${fn}($1::oid::regclass, 'read'::text, 'main'::text, $2::int8, least($3::int8, size - 1))::text AS blocks
             FROM (SELECT pg_catalog.pg_relation_size($1::oid::regclass) / pg_catalog.current_setting('block_size')::int8 AS size) s
            WHERE $2::int8 < size`,
          [r.oid, first, Math.min(first + sliceBlocks, r.blocks) - 1],
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
  const bound = of < total * blockBytes ? { boundBy: "effective_cache_size less shared_buffers" } : {};
  return { bytes, of, seconds: (performance.now() - started) / 1000, ...bound, ...(failed ? { failed } : {}) };
}
