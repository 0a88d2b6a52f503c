/** The audit log's presenter: Graph's directoryAudit. */
import { graphTime } from "../core/time.ts";
import { type AuditRow, targetResourcesOf } from "./store.ts";

export const directoryAudit = (r: AuditRow) => ({
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
