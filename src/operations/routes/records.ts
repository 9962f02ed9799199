/** The subscriber records, counted by status and carrier in the store: counts only, never a value. */
import { recordStats } from "../../admin/records";
import type { OperationsContext } from "../context";
import { json, routesFor } from "../route";
import { array, integer, object, record, string } from "../schema";

const route = routesFor<OperationsContext>();

const count = integer({ minimum: 0 });

const stats = object({
  total: count,
  byStatus: record(count, { description: "active, suspended, busy" }),
  byCarrier: record(count, { description: "mobile, telecom, cucc, broadnet, unknown" }),
  counts: array(object({ carrier: string(), status: string(), n: count })),
});

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
];
