import type { Ctx } from "../../functions/core/context.ts";
import { type QueryBudget, runJob as runEngine } from "../../functions/jobs/runner.ts";
import { jobKinds } from "../../functions/queue.ts";

/** Runs a job with the Worker's own job kinds, as the queue consumer does. */
export const runJob = (ctx: Ctx, jobId: string, budget: QueryBudget) => runEngine(ctx, jobId, jobKinds, budget);
