import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { guid, isoTime } from "../columns.ts";

/**
 * A unit of paged background work (a group's license change, a dynamic rule's evaluation; the retention purge and HR's
 * future-dated changes to come) walked in keyset pages by the job engine (functions/jobs/runner.ts). The cursor moves
 * in the same D1 batch as the page's writes, so a redelivered message resumes, never repeats.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    kind: text("kind").notNull(),
    // What the job is about (a group, for group licensing and rule evaluation); a newer job for it supersedes this one.
    subjectId: guid("subject_id"),
    state: text("state", { enum: ["Queued", "Running", "Complete", "Superseded"] }).notNull(),
    cursor: text("cursor").notNull().default(""),
    processed: integer("processed").notNull().default(0),
    succeeded: integer("succeeded").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    createdAt: isoTime("created_at").notNull(),
    updatedAt: isoTime("updated_at").notNull(),
  },
  (t) => [index("jobs_tenant_state").on(t.tenantId, t.state)],
);

/**
 * Follow-up work, written in the same batch as the change that causes it (a user's attributes changed, seats came
 * free, a job was queued): the queue message only carries the row's id, the consumer marks it done, and the hourly
 * sweep sends again what went stale, so a failed send or a crash after the batch loses nothing.
 */
export const outbox = sqliteTable(
  "outbox",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    kind: text("kind").notNull(),
    // JSON: the work's arguments (user ids, SKU ids, a job id).
    payload: text("payload").notNull(),
    createdAt: isoTime("created_at").notNull(),
    // When a message for it was last sent (created_at at first).
    sentAt: isoTime("sent_at").notNull(),
    attempts: integer("attempts").notNull().default(0),
    doneAt: isoTime("done_at"),
  },
  // Partial: only work still to do, which the sweep reads; done rows are pruned after a day.
  (t) => [index("outbox_pending").on(t.sentAt).where(sql`done_at IS NULL`)],
);
