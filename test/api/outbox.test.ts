import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { makeCtx } from "../../functions/core/context.ts";
import { updateUser } from "../../functions/directory/actions.ts";
import { addGroupMember } from "../../functions/directory/group-actions.ts";
import worker from "../../functions/index.ts";
import { assignGroupLicenses } from "../../functions/licensing/group-actions.ts";
import { buy, newTenant, newUser, SKU, type TestTenant } from "../helpers/api.ts";
import { assignGroup, eventually, newGroup, processed, states } from "../helpers/groups.ts";

// Follow-up work rides the outbox: written in the batch of the change that causes it, sent after, swept when lost.

/** A queue whose sends fail (a broken binding, an isolate that dies before sending), counting what it was asked. */
function failingQueue() {
  const attempts: unknown[] = [];
  const queue = {
    send: async (body: unknown) => {
      attempts.push(body);
      throw new Error("queue unavailable");
    },
    sendBatch: async (messages: { body: unknown }[]) => {
      attempts.push(...messages.map((m) => m.body));
      throw new Error("queue unavailable");
    },
  };
  return { queue: queue as unknown as Queue, attempts };
}

/** A queue that silently drops what it is given: the isolate died between the batch and the send. */
function droppingQueue() {
  return { send: async () => {}, sendBatch: async () => {} } as unknown as Queue;
}

const outboxOf = (tenantId: string) =>
  env.DB.prepare("SELECT id, kind, payload, done_at AS doneAt FROM outbox WHERE tenant_id = ?1 ORDER BY created_at, id")
    .bind(tenantId)
    .all<{ id: string; kind: string; payload: string; doneAt: string | null }>()
    .then((r) => r.results);

/** Makes this tenant's pending follow-ups look lost (sent long ago), then runs the hourly cron through the Worker. */
async function sweepLost(tenantId: string) {
  await env.DB.prepare(
    "UPDATE outbox SET sent_at = '2000-01-01T00:00:00.000Z' WHERE tenant_id = ?1 AND done_at IS NULL",
  )
    .bind(tenantId)
    .run();
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** A licensed dynamic group for department Sales, processed, and a user of department HR outside it. */
async function salesGroup(t: TestTenant) {
  await buy(t.admin, SKU.EMS, 5);
  const groupId = await newGroup(t.admin, {
    groupTypes: ["DynamicMembership"],
    membershipRule: 'user.department -eq "Sales"',
  });
  expect((await assignGroup(t.admin, groupId, [{ skuId: SKU.EMS }])).status).toBe(202);
  await processed(t.admin, groupId);
  const userId = await newUser(t.admin, { department: "HR" });
  // Everything that far is settled: what a test then finds in the outbox is its own.
  await settled(t.id);
  return { groupId, userId };
}

const settled = (tenantId: string) =>
  eventually(async () => expect((await outboxOf(tenantId)).filter((r) => r.doneAt === null)).toEqual([]));

const memberIds = async (t: TestTenant, groupId: string) =>
  ((await t.admin.get(`/v1.0/groups/${groupId}/members`)).body.value as { id: string }[]).map((m) => m.id);

describe("outbox", () => {
  it("a user update whose queue send fails still ends with the right membership and licenses after the sweep", async () => {
    const t = await newTenant();
    const { groupId, userId } = await salesGroup(t);
    const { queue, attempts } = failingQueue();
    const ctx = makeCtx({ ...env, LICENSE_JOBS: queue }, t.id, { kind: "system", name: "test fixtures" });

    // The change is made and answered: a failed send is not the caller's failure (a retry would find nothing to do).
    const updated = await updateUser({ ctx, input: { userRef: userId, changes: { department: "Sales" } } });
    expect(updated.department).toBe("Sales");
    expect(attempts).toHaveLength(1);
    const pending = (await outboxOf(t.id)).filter((r) => r.doneAt === null);
    expect(pending.map((r) => JSON.parse(r.payload))).toEqual([{ kind: "userChanged", userIds: [userId] }]);
    expect(await memberIds(t, groupId)).toEqual([]);

    await sweepLost(t.id);
    await eventually(async () => {
      expect(await memberIds(t, groupId)).toEqual([userId]);
      const held = await states(t.admin, userId);
      expect(held.assignedLicenses.map((l) => l.skuId)).toEqual([SKU.EMS]);
    });
    await settled(t.id);
  });

  it("a crash between the batch and the send is recovered by the sweep", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 5);
    const groupId = await newGroup(t.admin);
    const ctx = makeCtx({ ...env, LICENSE_JOBS: droppingQueue() }, t.id, { kind: "system", name: "test fixtures" });
    const joiner = await newUser(t.admin);
    await settled(t.id);
    // Both the group's license job and the member's reconcile are lost with the isolate.
    await assignGroupLicenses({
      ctx,
      input: { groupId, addLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }], removeLicenses: [] },
    });
    await addGroupMember({ ctx, input: { groupId, userRef: joiner } });
    const group = await t.admin.get(`/v1.0/groups/${groupId}?$select=licenseProcessingState`);
    expect(group.body.licenseProcessingState).toEqual({ state: "QueuedForProcessing" });
    expect((await states(t.admin, joiner)).assignedLicenses).toEqual([]);

    await env.DB.prepare("UPDATE jobs SET updated_at = '2000-01-01T00:00:00.000Z' WHERE tenant_id = ?1")
      .bind(t.id)
      .run();
    await sweepLost(t.id);
    await processed(t.admin, groupId);
    await eventually(async () =>
      expect((await states(t.admin, joiner)).assignedLicenses.map((l) => l.skuId)).toEqual([SKU.EMS]),
    );
  });

  it("a duplicate delivery of an outbox message changes nothing", async () => {
    const t = await newTenant();
    const { groupId, userId } = await salesGroup(t);
    expect((await t.admin.patch(`/v1.0/users/${userId}`, { department: "Sales" })).status).toBe(204);
    await eventually(async () => expect(await memberIds(t, groupId)).toEqual([userId]));
    await settled(t.id);
    const row = (await outboxOf(t.id)).find((r) => r.kind === "userChanged" && r.payload.includes(userId))!;

    const snapshot = async () => ({
      states: await states(t.admin, userId),
      members: await memberIds(t, groupId),
      audits: (await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE tenant_id = ?1")
        .bind(t.id)
        .first<{ n: number }>())!.n,
      pools: (await t.admin.get("/v1.0/subscribedSkus")).body.value.map(
        (s: { consumedUnits: number }) => s.consumedUnits,
      ),
    });
    const before = await snapshot();
    const batch = createMessageBatch("license-jobs", [
      { id: "again", timestamp: new Date(), attempts: 1, body: { outboxId: row.id, tenantId: t.id } },
      { id: "and-again", timestamp: new Date(), attempts: 3, body: { outboxId: row.id, tenantId: t.id } },
    ]);
    const execution = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, execution);
    expect(result.explicitAcks.sort()).toEqual(["again", "and-again"]);
    expect(await snapshot()).toEqual(before);
  });

  it("the sweep leaves work alone that is merely recent, and a job that is still moving", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 5);
    const groupId = await newGroup(t.admin);
    await settled(t.id);
    const ctx = makeCtx({ ...env, LICENSE_JOBS: droppingQueue() }, t.id, { kind: "system", name: "test fixtures" });
    await assignGroupLicenses({
      ctx,
      input: { groupId, addLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }], removeLicenses: [] },
    });
    // Its message went out long ago, but the job moved a moment ago: not stale.
    await env.DB.prepare(
      "UPDATE outbox SET sent_at = '2000-01-01T00:00:00.000Z' WHERE tenant_id = ?1 AND kind = 'job' AND done_at IS NULL",
    )
      .bind(t.id)
      .run();
    const execution = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }),
      env,
      execution,
    );
    await waitOnExecutionContext(execution);
    const row = (await outboxOf(t.id)).find((r) => r.kind === "job");
    const sent = await env.DB.prepare("SELECT sent_at AS sentAt FROM outbox WHERE id = ?1")
      .bind(row!.id)
      .first<{ sentAt: string }>();
    expect(sent!.sentAt).toBe("2000-01-01T00:00:00.000Z");
    const group = await t.admin.get(`/v1.0/groups/${groupId}?$select=licenseProcessingState`);
    expect(group.body.licenseProcessingState).toEqual({ state: "QueuedForProcessing" });
  });
});
