/**
 * The `license-jobs` queue's consumer: each message names an outbox row; its work goes to the capability that owns it,
 * and the row is marked done once the work is (a duplicate delivery then finds it done and changes nothing). Each
 * message gets its own query budget; a paged job that runs out of budget sends its row again and is acknowledged, so
 * no invocation exceeds D1's per-invocation query limit.
 */
import { type Ctx, groupLicensingActor, makeCtx } from "./core/context.ts";
import { type FollowUp, FollowUpSchema, InlineMessageSchema, OutboxMessageSchema } from "./jobs/messages.ts";
import { followUp, resendFollowUps, sendFollowUps } from "./jobs/outbox.ts";
import { type AnyJobKind, QueryBudget, runJob } from "./jobs/runner.ts";
import { markOutboxDone, readOutbox } from "./jobs/store.ts";
import { skuDeliveryJob } from "./licensing/delivery-job.ts";
import { groupLicenseJob } from "./licensing/group-license-job.ts";
import { healSeats, reconcileUsers } from "./licensing/reconcile.ts";
import { membershipRuleJob } from "./lifecycle/membership-job.ts";
import { reevaluateUsers } from "./lifecycle/reevaluate.ts";
import { PURGE_JOB_KIND, purgeJob } from "./retention/purge-job.ts";
import { SKU_DELIVERY_JOB_KIND } from "./subscriptions/rules.ts";
// Mailboxes and OneDrives move with licensing changes: registered wherever licensing runs.
import "./retention/licensing-hook.ts";

/** Every kind of paged job, by the name its rows carry. */
export const jobKinds: Record<string, AnyJobKind> = {
  groupLicense: groupLicenseJob,
  evaluateRule: membershipRuleJob,
  [PURGE_JOB_KIND]: purgeJob,
  [SKU_DELIVERY_JOB_KIND]: skuDeliveryJob,
};

/** Does one piece of follow-up work; "continue" when a paged job ran out of this invocation's budget. */
async function perform(ctx: Ctx, work: FollowUp, budget: QueryBudget): Promise<"done" | "continue"> {
  switch (work.kind) {
    case "job":
      return (await runJob(ctx, work.jobId, jobKinds, budget)) === "continue" ? "continue" : "done";
    case "reconcileUsers":
      await reconcileUsers(ctx, work.userIds, budget);
      return "done";
    case "userChanged":
      await reevaluateUsers(ctx, work.userIds, budget);
      return "done";
    case "healSeats":
      await healSeats(ctx, work.skuIds, budget);
      return "done";
  }
}

async function handleOutbox(env: Env, outboxId: string, budget: QueryBudget) {
  const row = await readOutbox(env.DB, outboxId);
  // Already done (a duplicate delivery) or pruned: nothing to do twice.
  if (!row || row.doneAt !== null) return;
  const ctx = makeCtx(env, row.tenantId, groupLicensingActor);
  const work = FollowUpSchema.parse(JSON.parse(row.payload));
  if ((await perform(ctx, work, budget)) === "continue") await resendFollowUps(ctx, [row.id], new Date());
  else await markOutboxDone(env.DB, row.id, new Date().toISOString());
}

export async function handleLicenseJobs(
  batch: MessageBatch<unknown>,
  env: Env,
  budgetFor: () => QueryBudget = () => new QueryBudget(),
) {
  for (const message of batch.messages) {
    const outbox = OutboxMessageSchema.safeParse(message.body);
    const inline = outbox.success ? null : InlineMessageSchema.safeParse(message.body);
    if (!outbox.success && !inline?.success) {
      console.error(JSON.stringify({ level: "error", msg: "dropping malformed license job", body: message.body }));
      message.ack();
      continue;
    }
    try {
      if (outbox.success) await handleOutbox(env, outbox.data.outboxId, budgetFor());
      else {
        // A message queued before the outbox: its work travels inline; a continuation goes through the outbox now.
        const { tenantId, ...work } = inline!.data!;
        const ctx = makeCtx(env, tenantId, groupLicensingActor);
        if ((await perform(ctx, work as FollowUp, budgetFor())) === "continue") {
          const rest = followUp(ctx, work as FollowUp);
          await ctx.d1.batch(rest.statements);
          await sendFollowUps(ctx, [rest.id]);
        }
      }
      message.ack();
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", msg: "license job failed", job: message.body, error: String(error) }),
      );
      message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
    }
  }
}
