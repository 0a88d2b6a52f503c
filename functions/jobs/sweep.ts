import { enqueue } from "./queue.ts";

/** Jobs quiet for this long are assumed lost (a message dropped after its retries) and are sent again. */
const STUCK_AFTER_MS = 10 * 60 * 1000;

/** The hourly sweep: re-queues paged jobs that stopped moving. Safe to run any time: jobs resume from their cursor. */
export async function sweep(env: Env, now: number) {
  const { results } = await env.DB.prepare(
    "SELECT id, tenant_id AS tenantId FROM license_jobs WHERE state IN ('Queued', 'Running') AND updated_at < ?1 LIMIT 500",
  )
    .bind(new Date(now - STUCK_AFTER_MS).toISOString())
    .all<{ id: string; tenantId: string }>();
  if (results.length)
    await enqueue(
      { env },
      results.map((r) => ({ kind: "job" as const, tenantId: r.tenantId, jobId: r.id })),
    );
  return results.length;
}
