/** The audit log's route contract. */
import { defineRoute, jsonResponse, z } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { DirectoryAuditCollection } from "./schemas.ts";

export const listDirectoryAudits = defineRoute(can.readAudit, {
  method: "get",
  path: "/v1.0/auditLogs/directoryAudits",
  operationId: "listDirectoryAudits",
  tags: ["Audit"],
  summary: "Directory audit log, newest first",
  description:
    "$filter on activityDisplayName, category, result, correlationId, activityDateTime (ge/le) and targetResources/any(t:t/id eq '…').",
  request: {
    query: z.object({ $top: z.string().optional(), $skiptoken: z.string().optional(), $filter: z.string().optional() }),
  },
  responses: { 200: jsonResponse(DirectoryAuditCollection, "directoryAudit collection") },
});
