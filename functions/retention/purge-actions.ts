/**
 * The purge's verbs: start a run (the daily cron per tenant with work, or POST /api/retention/run), read the ledger,
 * and preview what a run on a date would delete. The run itself is a job of the shared engine (purge-job.ts).
 */

import { requireRole } from "../core/authorize.ts";
import { type Ctx, makeCtx, schedulerActor } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { isUniqueViolation } from "../core/sql.ts";
import { queueJob, sendFollowUps } from "../jobs/outbox.ts";
import { PURGE_JOB_KIND } from "./purge-job.ts";
import {
  findScheduledRun,
  insertRunStatement,
  type LedgerRow,
  listRuns,
  type PurgeTrigger,
  previewRows,
  readRun,
  tenantsWithRetentionWork,
} from "./purge-store.ts";
import { mailboxHeldBy, messages, permanentDeletionCutoff, previewAsOf } from "./rules.ts";

/**
 * Starts a purge run at the caller's time (`ctx.now` is the run's clock for every page): its ledger row and its job,
 * recorded in one batch with the job's outbox row, then sent. A scheduled run for a clock that already has one (a
 * cron fired twice) is that run: nothing new starts.
 */
export async function startPurge({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { trigger: PurgeTrigger; dryRun: boolean };
}): Promise<LedgerRow> {
  requireRole(ctx, can.manageRetention);
  const id = newId();
  const asOf = ctx.now.toISOString();
  const job = queueJob(ctx, { id, kind: PURGE_JOB_KIND, subjectId: id });
  try {
    await ctx.d1.batch([insertRunStatement(ctx, { id, asOf, ...input }), ...job.statements]);
  } catch (error) {
    if (input.trigger === "scheduled" && isUniqueViolation(error)) {
      // The day's run started already (a cron delivered twice, two isolates): answer with it.
      const existing = await findScheduledRun(ctx, asOf);
      if (existing) return existing;
    }
    throw error;
  }
  await sendFollowUps(ctx, [job.id]);
  return (await readRun(ctx, id))!;
}

/**
 * The daily run (wrangler.toml's `0 3 * * *`, through scheduled.ts): a purge for every tenant with retention work at
 * the cron's scheduledTime, which is each run's clock.
 */
export async function scheduledRetention(env: Env, scheduledTime: number) {
  const at = new Date(scheduledTime);
  const asOf = at.toISOString();
  const tenants = await tenantsWithRetentionWork(env.DB, asOf, permanentDeletionCutoff(asOf));
  const runs: LedgerRow[] = [];
  for (const tenantId of tenants) {
    const ctx = makeCtx(env, tenantId, schedulerActor, crypto.randomUUID(), at);
    // One tenant's failure (its run is not started) leaves the others' runs to start; tomorrow's run catches it up.
    try {
      runs.push(await startPurge({ ctx, input: { trigger: "scheduled", dryRun: false } }));
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", msg: "retention purge not started", tenantId, asOf, error: String(error) }),
      );
    }
  }
  return runs;
}

export async function getPurgeRun({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  requireRole(ctx, can.readRetention);
  const run = await readRun(ctx, input.id.toLowerCase());
  if (!run) throw notFound(input.id);
  return run;
}

export async function listPurgeRuns({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { top: number; before?: { startedAt: string; id: string } | undefined };
}) {
  requireRole(ctx, can.readRetention);
  return listRuns(ctx, input.top, input.before);
}

/**
 * GET /api/retention/preview?date=: the disconnected mailboxes whose window ends by the end of that UTC day, each with
 * what a purge at that instant would delete and what keeps the rest (its labels, or its litigation hold, which keeps
 * it all), read in SQL (purge-store.ts) by the same `retained_until` the purge deletes by. Deletes nothing.
 */
export async function previewPurge({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { date?: string | undefined; top: number; after: number };
}) {
  requireRole(ctx, can.readRetention);
  const date = input.date ?? ctx.now.toISOString().slice(0, 10);
  const asOf = previewAsOf(date);
  if (asOf === null)
    throw invalid(messages.previewDate, { fields: [{ field: "date", message: messages.previewDate }] });
  const rows = await previewRows(ctx, asOf, input.top, input.after);
  return {
    date,
    rows: rows.map((r) => {
      const heldBy = mailboxHeldBy({
        state: "Disconnected",
        litigationHold: r.litigationHold,
        purgeAfter: r.purgeAfter,
        nextPurgeAt: null,
      });
      return {
        seq: r.seq,
        userId: r.userId,
        purgeAfter: r.purgeAfter,
        itemsToDelete: heldBy ? 0 : r.deletable,
        itemsKept: heldBy ? r.deletable + r.kept : r.kept,
        keptBy: heldBy ? [heldBy] : r.keptBy,
      };
    }),
  };
}
