/** The hourly sweep: sends again the follow-up work that went stale. Safe any time: the work is idempotent. */
import { resendFollowUps } from "./outbox.ts";
import { pruneOutbox, staleOutbox } from "./store.ts";

/** Work not done this long after its message (or a job quiet this long) is assumed lost and sent again. */
const STALE_AFTER_MS = 10 * 60 * 1000;
/** Done work is kept this long for whoever looks into what happened, then dropped. */
const KEEP_DONE_MS = 24 * 60 * 60 * 1000;

export async function sweep(env: Env, now: number) {
  const stale = await staleOutbox(env.DB, new Date(now - STALE_AFTER_MS).toISOString());
  const byTenant = new Map<string, string[]>();
  for (const row of stale) byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row.id]);
  for (const [tenantId, ids] of byTenant) await resendFollowUps({ env, d1: env.DB, tenantId }, ids, new Date(now));
  await pruneOutbox(env.DB, new Date(now - KEEP_DONE_MS).toISOString());
  return stale.length;
}
