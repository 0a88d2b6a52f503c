/** The hourly sweep: sends again the follow-up work that stopped moving. Safe any time: jobs resume from their cursor. */
import { enqueue } from "./queue.ts";
import { stalledJobs } from "./store.ts";

/** Jobs quiet for this long are assumed lost (a message dropped after its retries) and are sent again. */
const STUCK_AFTER_MS = 10 * 60 * 1000;

export async function sweep(env: Env, now: number) {
  const stalled = await stalledJobs(env.DB, new Date(now - STUCK_AFTER_MS).toISOString());
  if (stalled.length) {
    await enqueue(
      { env },
      stalled.map((r) => ({ kind: "job" as const, tenantId: r.tenantId, jobId: r.id })),
    );
  }
  return stalled.length;
}
