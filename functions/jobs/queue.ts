import type { Ctx } from "../core/context.ts";
import type { LicenseJob } from "./messages.ts";

/** Sends work to the license-jobs queue (in chunks: Queues take at most 100 messages per sendBatch). */
export async function enqueue(ctx: Pick<Ctx, "env">, jobs: LicenseJob[]) {
  for (let i = 0; i < jobs.length; i += 100) {
    await ctx.env.LICENSE_JOBS.sendBatch(jobs.slice(i, i + 100).map((body) => ({ body })));
  }
}
