import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { guid, isoTime } from "../columns.ts";

/** Graph's directoryAudit, one row per change, written in the same batch as the change it records. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    activityDateTime: isoTime("activity_date_time").notNull(),
    activityDisplayName: text("activity_display_name").notNull(),
    category: text("category").notNull(),
    operationType: text("operation_type").notNull(),
    result: text("result").notNull().default("success"),
    resultReason: text("result_reason").notNull().default(""),
    correlationId: text("correlation_id").notNull(),
    // JSON: { app?, user? } as Graph's initiatedBy.
    initiatedBy: text("initiated_by").notNull(),
    // JSON: targetResource[] with modifiedProperties (old/new values).
    targetResources: text("target_resources").notNull(),
    additionalDetails: text("additional_details").notNull().default("[]"),
  },
  (t) => [index("audit_tenant_time").on(t.tenantId, t.activityDateTime)],
);
