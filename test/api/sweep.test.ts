import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../functions/index.ts";
import { buy, newTenant, SKU } from "../helpers/api.ts";
import { seedMembers, seedUsers, stageGroupJob } from "../helpers/fixtures.ts";
import { eventually, newGroup } from "../helpers/groups.ts";

describe("hourly sweep", () => {
  it("re-queues a job whose message was lost, and the job then completes", async () => {
    const t = await newTenant();
    await buy(t.admin, SKU.EMS, 10);
    const groupId = await newGroup(t.admin);
    await seedMembers(t.id, groupId, await seedUsers(t.id, 5));
    // A job staged without a queue message, last touched long ago: as if its message had been dropped.
    const { jobId } = await stageGroupJob(t.id, groupId, SKU.EMS);
    await env.DB.prepare("UPDATE jobs SET updated_at = '2000-01-01T00:00:00.000Z' WHERE id = ?1").bind(jobId).run();
    const fresh = await stageGroupJob(t.id, await newGroup(t.admin), SKU.EMS);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    await eventually(async () => {
      const job = await env.DB.prepare("SELECT state FROM jobs WHERE id = ?1").bind(jobId).first<{ state: string }>();
      expect(job!.state).toBe("Complete");
    });
    const group = await t.admin.get(`/v1.0/groups/${groupId}?$select=licenseProcessingState`);
    expect(group.body.licenseProcessingState).toEqual({ state: "ProcessingComplete" });
    // A job that is merely recent is left alone.
    const untouched = await env.DB.prepare("SELECT state FROM jobs WHERE id = ?1")
      .bind(fresh.jobId)
      .first<{ state: string }>();
    expect(untouched!.state).toBe("Queued");
  });
});
