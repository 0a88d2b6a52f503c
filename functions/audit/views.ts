/** The audit log's presenter: Graph's directoryAudit. */
import { graphTime } from "../core/time.ts";
import type { DirectoryAudit } from "./schemas.ts";
import { type AuditRow, targetResourcesOf } from "./store.ts";

export const directoryAudit = (r: AuditRow): DirectoryAudit => ({
  id: r.id!,
  category: r.category!,
  correlationId: r.correlationId!,
  result: r.result as DirectoryAudit["result"],
  resultReason: r.resultReason!,
  activityDisplayName: r.activityDisplayName!,
  activityDateTime: graphTime(r.activityDateTime!),
  loggedByService: "Core Directory",
  operationType: r.operationType!,
  initiatedBy: JSON.parse(r.initiatedBy!),
  targetResources: targetResourcesOf(r) as DirectoryAudit["targetResources"],
  additionalDetails: JSON.parse(r.additionalDetails!),
});
