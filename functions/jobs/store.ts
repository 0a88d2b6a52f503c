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
        `UPDATE jobs SET state = 'Superseded', updated_at = ?4
         WHERE tenant_id = ?1 AND subject_id = ?2 AND kind = ?3 AND state IN ('Queued', 'Running')`,
      )
      .bind(ctx.tenantId, job.subjectId, job.kind, now),
    ctx.d1
      .prepare(
        `INSERT INTO jobs (id, tenant_id, subject_id, kind, state, cursor, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'Queued', '', ?5, ?5)`,
      )
      .bind(job.id, ctx.tenantId, job.subjectId, job.kind, now),
  ];
}

export async function readJob(ctx: Ctx, jobId: string): Promise<JobRow | null> {
  return ctx.d1
    .prepare(
      `SELECT id, subject_id AS subjectId, kind, state, cursor, processed, succeeded, failed FROM jobs
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(ctx.tenantId, jobId)
    .first<JobRow>();
}

/** Queued → Running, once: the guard fails the batch for a second starter. */
export const startJobStatements = (ctx: Ctx, job: Pick<JobRow, "id">): D1PreparedStatement[] => [
  ctx.d1
    .prepare("UPDATE jobs SET state = 'Running', updated_at = ?2 WHERE id = ?1 AND state = 'Queued'")
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
      `UPDATE jobs SET cursor = ?3, processed = processed + ?4, succeeded = succeeded + ?5, failed = failed + ?6, updated_at = ?7
       WHERE id = ?1 AND cursor = ?2 AND state = 'Running'`,
    )
    .bind(job.id, job.cursor, next, counts.processed, counts.succeeded, counts.failed, ctx.now.toISOString()),
  ctx.d1.prepare(guardSql("changes() = 1")),
];

/** Running → Complete from the cursor the last page left, once. */
export const finishJobStatements = (ctx: Ctx, job: Pick<JobRow, "id" | "cursor">): D1PreparedStatement[] => [
  ctx.d1
    .prepare("UPDATE jobs SET state = 'Complete', updated_at = ?3 WHERE id = ?1 AND cursor = ?2 AND state = 'Running'")
    .bind(job.id, job.cursor, ctx.now.toISOString()),
  ctx.d1.prepare(guardSql("changes() = 1")),
];

/** The job's subject is gone: it ends without running. */
export const supersedeJobStatement = (ctx: Ctx, jobId: string) =>
  ctx.d1.prepare("UPDATE jobs SET state = 'Superseded' WHERE id = ?1").bind(jobId);

// ---- the outbox ----------------------------------------------------------------------------------------------

export type OutboxRow = { id: string; tenantId: string; kind: string; payload: string; doneAt: string | null };

export const insertOutboxStatement = (ctx: Ctx, row: { id: string; kind: string; payload: string }) =>
  ctx.d1
    .prepare("INSERT INTO outbox (id, tenant_id, kind, payload, created_at, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)")
    .bind(row.id, ctx.tenantId, row.kind, row.payload, ctx.now.toISOString());

/**
 * Seat healing for the SKUs of `freedSkuIds` that have members waiting for a seat (CountViolation), recorded only if
 * somebody waits, with just those SKUs: decided in the change's own batch (RETURNING says whether it was written),
 * since a group shedding a SKU frees seats every page and nobody may be waiting.
 */
export const healSeatsIfWaitingStatement = (ctx: Ctx, id: string, freedSkuIds: readonly string[]) =>
  ctx.d1
    .prepare(
      `INSERT INTO outbox (id, tenant_id, kind, payload, created_at, sent_at)
       SELECT ?1, ?2, 'healSeats', json_object('kind', 'healSeats', 'skuIds', json_group_array(p.sku_id)), ?3, ?3
       FROM seat_pools p WHERE p.tenant_id = ?2 AND p.sku_id IN (SELECT value FROM json_each(?4))
         AND EXISTS (SELECT 1 FROM license_sources WHERE pool_seq = p.seq AND error = 'CountViolation')
       HAVING count(*) > 0
       RETURNING id`,
    )
    .bind(id, ctx.tenantId, ctx.now.toISOString(), JSON.stringify(freedSkuIds));

export async function readOutbox(d1: D1Database, id: string): Promise<OutboxRow | null> {
  return d1
    .prepare("SELECT id, tenant_id AS tenantId, kind, payload, done_at AS doneAt FROM outbox WHERE id = ?1")
    .bind(id)
    .first<OutboxRow>();
}

export const markOutboxDone = (d1: D1Database, id: string, at: string) =>
  d1.prepare("UPDATE outbox SET done_at = ?2 WHERE id = ?1 AND done_at IS NULL").bind(id, at).run();

/** Notes a new send of the row's message (a job continuing in a new invocation, the sweep re-sending it). */
export const markOutboxSent = (d1: D1Database, ids: readonly string[], at: string) =>
  d1
    .prepare(
      "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1 WHERE id IN (SELECT value FROM json_each(?1)) AND done_at IS NULL",
    )
    .bind(JSON.stringify(ids), at)
    .run();

/**
 * Work that went stale: sent before `cutoff` and not done (its message lost, its consumer dead). A job that is still
 * moving is not stale however long ago its message went out: only a job quiet since `cutoff` is.
 */
export async function staleOutbox(d1: D1Database, cutoff: string, limit = 500) {
  const { results } = await d1
    .prepare(
      `SELECT o.id, o.tenant_id AS tenantId FROM outbox o
         LEFT JOIN jobs j ON o.kind = 'job' AND j.id = o.payload ->> '$.jobId'
       WHERE o.done_at IS NULL
         AND CASE WHEN j.state IN ('Queued', 'Running') THEN j.updated_at < ?1 ELSE o.sent_at < ?1 END
       LIMIT ?2`,
    )
    .bind(cutoff, limit)
    .all<{ id: string; tenantId: string }>();
  return results;
}

/** Done work is kept a while (for whoever looks into a job), then dropped. */
export const pruneOutbox = (d1: D1Database, doneBefore: string) =>
  d1.prepare("DELETE FROM outbox WHERE done_at < ?1").bind(doneBefore).run();
