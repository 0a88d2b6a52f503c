import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { type Ctx, makeCtx } from "../../functions/core/context.ts";
import worker from "../../functions/index.ts";
import { startPurge } from "../../functions/retention/purge-actions.ts";
import { readRun } from "../../functions/retention/purge-store.ts";
import { DAY_MS } from "../../functions/retention/rules.ts";
import type { TestTenant } from "./api.ts";
import { eventually } from "./groups.ts";

export const ARCHIVING_SKU = "ee02fd1b-340e-4a4b-b355-4a514e4c8943";

/** An injected clock: `days` after `t0`. */
export const dayAfter = (t0: Date, days: number) => new Date(t0.getTime() + days * DAY_MS);

/** A system actor's context at a given time (verbs called where the API can't travel in time). */
export const ctxAt = (tenantId: string, at: Date): Ctx =>
  makeCtx(env, tenantId, { kind: "system", name: "test fixtures" }, crypto.randomUUID(), at);

export async function mailbox(t: TestTenant, userRef: string) {
  const res = await t.admin.get(`/api/mailboxes/${encodeURIComponent(userRef)}`);
  return res.status === 200 ? res.body : { status: res.status, error: res.body?.error?.message };
}

/** Waits for a run's ledger row to say Complete; returns it. */
export async function completed(tenantId: string, runId: string) {
  let run: Awaited<ReturnType<typeof readRun>> = null;
  await eventually(async () => {
    run = await readRun({ d1: env.DB, tenantId }, runId);
    expect(run?.state).toBe("Complete");
  });
  return run!;
}

/** A purge run at `at` (the API's run, with an injected clock), waited for. */
export async function purgeAt(t: TestTenant, at: Date, dryRun = false) {
  const run = await startPurge({ ctx: ctxAt(t.id, at), input: { trigger: "api", dryRun } });
  return completed(t.id, run.id);
}

/** The daily cron through the Worker's real `scheduled` export, at `at`; waits for this tenant's run if it has one. */
export async function dailyRunAt(t: TestTenant, at: Date) {
  const execution = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at.getTime(), cron: "0 3 * * *" }), env, execution);
  await waitOnExecutionContext(execution);
  const row = await env.DB.prepare(
    "SELECT id FROM purge_ledger WHERE tenant_id = ?1 AND trigger = 'scheduled' AND as_of = ?2",
  )
    .bind(t.id, at.toISOString())
    .first<{ id: string }>();
  return row ? completed(t.id, row.id) : null;
}

/** Mail arriving: `n` items (optionally labelled), received `receivedDaysAgo` before now. */
export async function deliver(
  t: TestTenant,
  userId: string,
  n: number,
  options: { labelId?: string; receivedAt?: Date } = {},
) {
  const items = Array.from({ length: n }, (_, i) => ({
    subject: `Mail ${i}`,
    sizeBytes: 1000 + i,
    ...(options.receivedAt ? { receivedDateTime: options.receivedAt.toISOString() } : {}),
    ...(options.labelId ? { retentionLabelId: options.labelId } : {}),
  }));
  const res = await t.admin.post(`/api/mailboxes/${userId}/items`, { items });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.value as { id: string; retainedUntil: string | null }[];
}

/** The items of a mailbox, by mailbox seq, straight from D1 (an old mailbox the API no longer names). */
export async function itemsOfUser(tenantId: string, userId: string) {
  const { results } = await env.DB.prepare(
    `SELECT m.seq AS mailbox, m.state, i.item_seq AS item, i.retained_until AS retainedUntil FROM users u
     JOIN mailboxes m ON m.user_seq = u.seq JOIN mailbox_items i ON i.mailbox_seq = m.seq
     WHERE u.tenant_id = ?1 AND u.id = ?2 ORDER BY m.seq, i.item_seq`,
  )
    .bind(tenantId, userId)
    .all<{ mailbox: number; state: string; item: number; retainedUntil: string | null }>();
  return results;
}
