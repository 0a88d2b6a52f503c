import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { guid, isoTime } from "../columns.ts";

/**
 * Graph's directoryAudit, written in the same batch as the change it records. A row is one entry, or a bulk row that
 * stands for many entries differing only in their user (a group job's page of "Change user license", a rule's
 * membership moves): `entries` lists them and directoryAudits expands each into its own entry. Per-user rows cost a
 * group job more than its licensing writes did; a bulk row stores the shared parts once.
 */
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
    // JSON: targetResource[] with modifiedProperties (old/new values); in a bulk row, the targets after each user.
    targetResources: text("target_resources").notNull(),
    additionalDetails: text("additional_details").notNull().default("[]"),
    // Bulk rows only. JSON: [userId, displayName, userPrincipalName, oldValue?, newValue?][], the values as indexes
    // into entry_values; entry_property names the user's one modified property, if any. An entry's id is derived
    // from the row's and its position (AUDIT_ID in functions/audit/filter.ts).
    entries: text("entries"),
    entryProperty: text("entry_property"),
    entryValues: text("entry_values"),
  },
  (t) => [index("audit_tenant_time").on(t.tenantId, t.activityDateTime)],
);
