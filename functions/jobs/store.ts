/** Paged jobs as stored: a job's row, its durable cursor and counts, and the statements that move them. */
import type { Ctx } from "../core/context.ts";
import { guardSql } from "../core/sql.ts";

export type JobState = "Queued" | "Running" | "Complete" | "Superseded";

export type JobRow = {
  id: string;
  kind: string;
  /** What the job is about (the group of a group license or rule job). */
  subjectId: string;
  state: JobState;
  cursor: string;
  processed: number;
  succeeded: number;
  failed: number;
};

export type JobCounts = { processed: number; succeeded: number; failed: number };

/** Creates a job and retires any earlier unfinished job of the same kind for its subject (the newer intent wins). */
export function createJobStatements(
  ctx: Ctx,
  job: { id: string; kind: string; subjectId: string },
): D1PreparedStatement[] {
  const now = ctx.now.toISOString();
  return [
    ctx.d1
      .prepare(
        `UPDATE license_jobs SET state = 'Superseded', updated_at = ?4
         WHERE tenant_id = ?1 AND group_id = ?2 AND kind = ?3 AND state IN ('Queued', 'Running')`,
      )
      .bind(ctx.tenantId, job.subjectId, job.kind, now),
    ctx.d1
      .prepare(
        `INSERT INTO license_jobs (id, tenant_id, group_id, kind, state, cursor, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'Queued', '', ?5, ?5)`,
      )
      .bind(job.id, ctx.tenantId, job.subjectId, job.kind, now),
  ];
}

export async function readJob(ctx: Ctx, jobId: string): Promise<JobRow | null> {
  return ctx.d1
    .prepare(
      `SELECT id, group_id AS subjectId, kind, state, cursor, processed, succeeded, failed FROM license_jobs
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(ctx.tenantId, jobId)
    .first<JobRow>();
}

/** Queued → Running, once: the guard fails the batch for a second starter. */
export const startJobStatements = (ctx: Ctx, job: Pick<JobRow, "id">): D1PreparedStatement[] => [
  ctx.d1
    .prepare("UPDATE license_jobs SET state = 'Running', updated_at = ?2 WHERE id = ?1 AND state = 'Queued'")
    .bind(job.id, ctx.now.toISOString()),
  ctx.d1.prepare(guardSql("changes() = 1")),
];

/** Moves the cursor from where the page started, with the page's counts; fails the batch if another run moved it. */
export const cursorAdvanceStatements = (
  ctx: Ctx,
  job: Pick<JobRow, "id" | "cursor">,
  next: string,
  counts: JobCounts,
): D1PreparedStatement[] => [
  ctx.d1
    .prepare(
      `UPDATE license_jobs SET cursor = ?3, processed = processed + ?4, succeeded = succeeded + ?5, failed = failed + ?6, updated_at = ?7
       WHERE id = ?1 AND cursor = ?2 AND state = 'Running'`,
    )
    .bind(job.id, job.cursor, next, counts.processed, counts.succeeded, counts.failed, ctx.now.toISOString()),
  ctx.d1.prepare(guardSql("changes() = 1")),
];

/** Running → Complete from the cursor the last page left, once. */
export const finishJobStatements = (ctx: Ctx, job: Pick<JobRow, "id" | "cursor">): D1PreparedStatement[] => [
  ctx.d1
    .prepare(
      "UPDATE license_jobs SET state = 'Complete', updated_at = ?3 WHERE id = ?1 AND cursor = ?2 AND state = 'Running'",
    )
    .bind(job.id, job.cursor, ctx.now.toISOString()),
  ctx.d1.prepare(guardSql("changes() = 1")),
];

/** The job's subject is gone: it ends without running. */
export const supersedeJobStatement = (ctx: Ctx, jobId: string) =>
  ctx.d1.prepare("UPDATE license_jobs SET state = 'Superseded' WHERE id = ?1").bind(jobId);

/** Unfinished jobs that stopped moving (a message lost after its retries), for the sweep to send again. */
export async function stalledJobs(d1: D1Database, quietSince: string, limit = 500) {
  const { results } = await d1
    .prepare(
      "SELECT id, tenant_id AS tenantId FROM license_jobs WHERE state IN ('Queued', 'Running') AND updated_at < ?1 LIMIT ?2",
    )
    .bind(quietSince, limit)
    .all<{ id: string; tenantId: string }>();
  return results;
}
