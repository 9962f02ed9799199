/** The subscriber records, counted by status and carrier in the store: counts only, never a value. */
import { recordStats } from "../../admin/records";
import type { OperationsContext } from "../context";
import { MAX_IMPORT_BYTES } from "../record-imports";
import { json, notFound, routesFor } from "../route";
import { array, integer, named, nullable, object, oneOf, record, string } from "../schema";

const route = routesFor<OperationsContext>();

const count = integer({ minimum: 0 });

const stats = object({
  total: count,
  byStatus: record(count, { description: "active, suspended, busy" }),
  byCarrier: record(count, { description: "mobile, telecom, cucc, broadnet, unknown" }),
  counts: array(object({ carrier: string(), status: string(), n: count })),
});

const importAnswer = object({
  import: named(
    "RecordImport",
    object({
      id: string(),
      state: oneOf(["running", "done", "refused", "failed"], {
        description: "refused: the file cannot be read as rows (nothing imported); failed: the store failed midway",
      }),
      bytesRead: count,
      bytesTotal: count,
      read: count,
      imported: count,
      replaced: count,
      rejected: count,
      rejections: array(object({ line: count, reason: string() }), {
        description: "the first rejected rows: line and reason, never a value",
      }),
      error: nullable(
        object({ line: nullable(count), message: string() }, { description: "why the file was refused (its line), or failed" }),
      ),
    }),
  ),
});

const importId = string({ pattern: /^imp-[0-9a-f]{12}$/, hint: "an import id, such as imp-0123456789ab" });

export const recordRoutes = [
  route({
    id: "recordStats",
    method: "GET",
    path: "/_sanyao/records/stats",
    group: "records",
    summary: "How many subscriber records there are, by status and carrier (counts only, never a value)",
    access: "read",
    answers: { 200: { description: "the counts", schema: stats } },
    handle: async (_input, ctx) => json(200, await recordStats(ctx.store)),
  }),
  route({
    id: "importRecords",
    method: "POST",
    path: "/_sanyao/records/imports",
    group: "records",
    summary: "Import subscriber records from a CSV file sent as the body (text/csv), as `sanyao import` does, as a job",
    description:
      `The body is the file itself (at most ${MAX_IMPORT_BYTES / 1024 / 1024} MiB; NDJSON with Content-Type application/x-ndjson). ` +
      "The answer comes once the file is received; poll the job for its progress. A file that cannot be read as rows is " +
      "refused whole, its line named; rejected rows are listed by line and reason and the others imported. A server runs one " +
      "browser import at a time: another sent while one is received or imported gets 409. The whole file must arrive " +
      "within SANYAO_REQUEST_TIMEOUT_MS (30 s by default) when the operations API shares the public listener, within " +
      "5 minutes on a listener of its own (SANYAO_OPS_PORT), else 408: on a slow link, use `sanyao records import`.",
    access: "write",
    stream: { contentType: "text/csv", description: "the records file, a header row first (phone,name,idcard[,isp][,status]…)" },
    answers: { 202: { description: "received: the import runs", schema: importAnswer } },
    errors: {
      409: "an import is already running on this server: wait for it to end, then send the file",
      413: "the file is too large for the browser (use `sanyao import`)",
    },
    handle: async ({ req }, ctx) => json(202, { import: await ctx.imports.start(req) }),
  }),
  route({
    id: "getRecordImport",
    method: "GET",
    path: "/_sanyao/records/imports/{id}",
    group: "records",
    summary: "An import's progress (bytes read of the file) and outcome",
    access: "write",
    params: object({ id: importId }),
    answers: { 200: { description: "the import", schema: importAnswer } },
    errors: { 404: "no such import" },
    handle: async ({ params }, ctx) => {
      const job = await ctx.imports.get(params.id);
      if (!job) throw notFound(`No import ${params.id}.`);
      return json(200, { import: job });
    },
  }),
];
