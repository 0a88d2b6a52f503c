import { groupLicensingActor, makeCtx } from "../core/context.ts";
import { reevaluateUsers } from "../directory/dynamic.ts";
import { healSeats, QueryBudget, reconcileUsers, runJob } from "../licensing/group-jobs.ts";
import { type LicenseJob, LicenseJobSchema } from "./messages.ts";
import { enqueue } from "./queue.ts";

/**
 * The `license-jobs` consumer. Each message gets its own query budget; a paged job that runs out of budget sends a
 * continuation of itself and is acknowledged, so no invocation exceeds D1's per-invocation query limit.
 */
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
      if ((await runJob(ctx, job.jobId, budget)) === "continue") await enqueue(ctx, [job]);
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
