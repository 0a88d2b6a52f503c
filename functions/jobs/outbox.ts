/**
 * Follow-up work through the outbox: a change writes the rows of the work it causes in its own batch, then sends their
 * ids on the queue. If the send fails or the isolate dies first, the change still stands and its follow-ups are still
 * recorded: the hourly sweep sends them again. The queue consumer marks a row done once its work is.
 */
import type { Ctx } from "../core/context.ts";
import { newId } from "../core/ids.ts";
import type { FollowUp, OutboxMessage } from "./messages.ts";
import { createJobStatements, healSeatsIfWaitingStatement, insertOutboxStatement, markOutboxSent } from "./store.ts";

/** A follow-up as part of a batch: its row's statement, and the id to send once the batch has landed. */
export type Recorded = { id: string; statements: D1PreparedStatement[] };

/** Records follow-up work in the batch of the change that causes it. */
export function followUp(ctx: Ctx, work: FollowUp): Recorded {
  const id = newId();
  return { id, statements: [insertOutboxStatement(ctx, { id, kind: work.kind, payload: JSON.stringify(work) })] };
}

/** Creates a paged job (retiring any unfinished one of the same kind for its subject) and records its run. */
export function queueJob(ctx: Ctx, job: { id: string; kind: string; subjectId: string }): Recorded {
  const run = followUp(ctx, { kind: "job", jobId: job.id });
  return { id: run.id, statements: [...createJobStatements(ctx, job), ...run.statements] };
}

/**
 * Seat healing for the SKUs among `freedSkuIds` that members wait for, recorded only if somebody does (the batch's
 * last result then holds the row). Nothing to record when no seat was freed.
 */
export function healSeatsIfWaiting(ctx: Ctx, freedSkuIds: readonly string[]): Recorded | null {
  if (freedSkuIds.length === 0) return null;
  const id = newId();
  return { id, statements: [healSeatsIfWaitingStatement(ctx, id, freedSkuIds)] };
}

/** Whether a conditional follow-up was written, from its statement's result. */
export const written = (result: D1Result | undefined) => (result?.results.length ?? 0) > 0;

/**
 * Sends the queue messages of follow-ups recorded in a batch that has landed. A failed send is logged, not thrown: the
 * change is done, its follow-ups are recorded, and the sweep sends them again (Queues take 100 messages a call).
 */
export async function sendFollowUps(ctx: Pick<Ctx, "env" | "tenantId">, ids: readonly string[]) {
  if (ids.length === 0) return;
  try {
    for (let i = 0; i < ids.length; i += 100) {
      const body = ids.slice(i, i + 100).map((outboxId): { body: OutboxMessage } => ({
        body: { outboxId, tenantId: ctx.tenantId },
      }));
      await ctx.env.LICENSE_JOBS.sendBatch(body);
    }
  } catch (error) {
    console.error(
      JSON.stringify({ level: "warn", msg: "follow-up send failed; the sweep will resend", ids, error: String(error) }),
    );
  }
}

/** Sends follow-ups again (a job continuing in a new invocation, the sweep), noting when. */
export async function resendFollowUps(ctx: Pick<Ctx, "env" | "tenantId" | "d1">, ids: readonly string[], at: Date) {
  if (ids.length === 0) return;
  await markOutboxSent(ctx.d1, ids, at.toISOString());
  await sendFollowUps(ctx, ids);
}
