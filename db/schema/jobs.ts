import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { guid, isoTime } from "../columns.ts";

/**
 * A unit of bulk licensing work (a group's license change, a dynamic rule evaluation) walked in keyset pages.
 * The cursor moves in the same D1 batch as the page's writes, so a redelivered message resumes, never repeats.
 */
export const licenseJobs = sqliteTable(
  "license_jobs",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    groupId: guid("group_id"),
    kind: text("kind", { enum: ["groupLicense", "evaluateRule"] }).notNull(),
    state: text("state", { enum: ["Queued", "Running", "Complete", "Superseded"] }).notNull(),
    cursor: text("cursor").notNull().default(""),
    processed: integer("processed").notNull().default(0),
    succeeded: integer("succeeded").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    createdAt: isoTime("created_at").notNull(),
    updatedAt: isoTime("updated_at").notNull(),
  },
  (t) => [index("license_jobs_tenant_state").on(t.tenantId, t.state)],
);
