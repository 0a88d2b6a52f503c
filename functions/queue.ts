/**
 * The `license-jobs` queue's consumer: each message names follow-up work and is handed to the capability that owns it.
 * Each message gets its own query budget; a paged job that runs out of budget sends a continuation of itself and is
 * acknowledged, so no invocation exceeds D1's per-invocation query limit.
 */
import { groupLicensingActor, makeCtx } from "./core/context.ts";
import { type LicenseJob, LicenseJobSchema } from "./jobs/messages.ts";
import { enqueue } from "./jobs/queue.ts";
import { type AnyJobKind, QueryBudget, runJob } from "./jobs/runner.ts";
import { groupLicenseJob } from "./licensing/group-license-job.ts";
import { healSeats, reconcileUsers } from "./licensing/reconcile.ts";
import { membershipRuleJob } from "./lifecycle/membership-job.ts";
import { reevaluateUsers } from "./lifecycle/reevaluate.ts";

/** Every kind of paged job, by the name its rows carry. */
export const jobKinds: Record<string, AnyJobKind> = {
  groupLicense: groupLicenseJob,
  evaluateRule: membershipRuleJob,
};

export async function handleLicenseJobs(
  batch: MessageBatch<unknown>,
  env: Env,
  budgetFor: () => QueryBudget = () => new QueryBudget(),
) {
  for (const message of batch.messages) {
    const parsed = LicenseJobSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ level: "error", msg: "dropping malformed license job", body: message.body }));
      message.ack();
      continue;
    }
    try {
      await handle(parsed.data, env, budgetFor());
      message.ack();
    } catch (error) {
      console.error(
        JSON.stringify({ level: "error", msg: "license job failed", job: parsed.data, error: String(error) }),
      );
      message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
    }
  }
}

async function handle(job: LicenseJob, env: Env, budget: QueryBudget) {
  const ctx = makeCtx(env, job.tenantId, groupLicensingActor);
  switch (job.kind) {
    case "job": {
      if ((await runJob(ctx, job.jobId, jobKinds, budget)) === "continue") await enqueue(ctx, [job]);
      return;
    }
    case "reconcileUsers":
      return reconcileUsers(ctx, job.userIds, budget);
    case "userChanged":
      return reevaluateUsers(ctx, job.userIds, budget);
    case "healSeats":
      return healSeats(ctx, job.skuIds, budget);
  }
}
