import { invalid } from "../core/errors.ts";
import { compileODataFilter, contextUrl, decodeSkipToken, nextLink, parseTop } from "../core/odata.ts";
import { defineRoute, GraphCollection, jsonResponse, newRouter, z } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { graphTime } from "../core/time.ts";
import { AUDIT_ID, compileAuditFilter } from "./filter.ts";
import { type StoredAudit, targetResourcesOf } from "./store.ts";

export const listDirectoryAudits = defineRoute(can.readAudit, {
  method: "get",
  path: "/v1.0/auditLogs/directoryAudits",
  tags: ["Audit"],
  summary: "Directory audit log, newest first",
  description:
    "$filter on activityDisplayName, category, result, correlationId, activityDateTime (ge/le) and targetResources/any(t:t/id eq '…').",
  request: {
    query: z.object({ $top: z.string().optional(), $skiptoken: z.string().optional(), $filter: z.string().optional() }),
  },
  responses: { 200: jsonResponse(GraphCollection, "directoryAudit collection") },
});

type AuditRow = Record<string, string> & StoredAudit;

const present = (r: AuditRow) => ({
  id: r.id,
  category: r.category,
  correlationId: r.correlationId,
  result: r.result,
  resultReason: r.resultReason,
  activityDisplayName: r.activityDisplayName,
  activityDateTime: graphTime(r.activityDateTime!),
  loggedByService: "Core Directory",
  operationType: r.operationType,
  initiatedBy: JSON.parse(r.initiatedBy!),
  targetResources: targetResourcesOf(r),
  additionalDetails: JSON.parse(r.additionalDetails!),
});

export const auditRouter = newRouter().openapi(listDirectoryAudits, async (c) => {
  const ctx = c.get("ctx");
  const query = c.req.valid("query");
  const top = parseTop(query.$top);
  const params: (string | number)[] = [ctx.tenantId];
  let where = "a.tenant_id = ?";
  const filter = compileODataFilter(query.$filter, (node) => compileAuditFilter(node, params));
  if (filter !== undefined) where += ` AND ${filter}`;
  // Newest first; the cursor is (time, id) of the last entry shown. A bulk row's entries share its time and their ids
  // extend the row's, so the index gives rows in time order and only a bulk row's own entries are sorted.
  const cursor = decodeSkipToken(query.$skiptoken)?.split("|");
  if (cursor && cursor.length !== 2) throw invalid("Invalid $skiptoken.");
  if (cursor?.length === 2) {
    where += ` AND (a.activity_date_time < ? OR (a.activity_date_time = ? AND ${AUDIT_ID} < ?))`;
    params.push(cursor[0]!, cursor[0]!, cursor[1]!);
  }
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${AUDIT_ID} AS id, a.category, a.correlation_id AS correlationId, a.result, a.result_reason AS resultReason,
         a.activity_display_name AS activityDisplayName, a.activity_date_time AS activityDateTime, a.operation_type AS operationType,
         a.initiated_by AS initiatedBy, a.target_resources AS targetResources, a.additional_details AS additionalDetails,
         e.value AS entry, a.entry_property AS entryProperty, a.entry_values AS entryValues
       FROM audit_log a LEFT JOIN json_each(a.entries) e WHERE ${where} ORDER BY a.activity_date_time DESC, id DESC LIMIT ?`,
    )
    .bind(...params, top + 1)
    .all<AuditRow>();
  const more = results.length > top;
  const shown = more ? results.slice(0, top) : results;
  const last = shown[shown.length - 1];
  return c.json(
    {
      "@odata.context": contextUrl(c.req.url, "auditLogs/directoryAudits"),
      ...(more && last ? { "@odata.nextLink": nextLink(c.req.url, `${last.activityDateTime}|${last.id}`) } : {}),
      value: shown.map(present),
    },
    200,
  );
});
