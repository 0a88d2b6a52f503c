import { auditStatement } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { groupMessages } from "../directory/group-actions.ts";
import { findGroup, type GroupRow, loadGroupLicenses } from "../directory/group-store.ts";
import { enqueue } from "../jobs/queue.ts";
import { licensingChanged } from "../tenancy/store.ts";
import { type AssignLicenseRequest, checkRequestShape, directMessages } from "./direct.ts";
import { createJobStatements } from "./group-jobs.ts";

export const groupLicenseMessages = {
  notSecurityEnabled:
    "License assignment is only supported for security-enabled groups (securityEnabled must be true).",
  notOnGroup: (skuId: string) => `License ${skuId} is not assigned to the group.`,
};

/** Validates a group license change against the catalogue, the tenant's subscriptions and the group's members. */
async function checkGroupRequest(ctx: Ctx, group: GroupRow, request: AssignLicenseRequest, current: Set<string>) {
  if (!group.securityEnabled) throw invalid(groupLicenseMessages.notSecurityEnabled);
  checkRequestShape(request);
  for (const skuId of request.removeLicenses) {
    if (!current.has(skuId)) throw invalid(groupLicenseMessages.notOnGroup(skuId));
  }
  if (request.addLicenses.length === 0) return;
  const skuIds = JSON.stringify(request.addLicenses.map((a) => a.skuId));
  const [holdings, plans, guests] = await ctx.d1.batch<Record<string, unknown>>([
    ctx.d1
      .prepare(
        `SELECT sku_id AS skuId, sum(owner_type = 'Company' AND status <> 'Deleted') AS company, sum(owner_type = 'User' AND status <> 'Deleted') AS selfService
         FROM subscriptions WHERE tenant_id = ?1 AND sku_id IN (SELECT value FROM json_each(?2)) GROUP BY sku_id`,
      )
      .bind(ctx.tenantId, skuIds),
    ctx.d1
      .prepare(
        "SELECT sku_id AS skuId, service_plan_id AS planId FROM sku_service_plans WHERE sku_id IN (SELECT value FROM json_each(?1))",
      )
      .bind(skuIds),
    ctx.d1
      .prepare(
        `SELECT count(*) AS n FROM users u
         WHERE u.tenant_id = ?1 AND u.user_type = 'Guest' AND u.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_seq = ?2 AND gm.user_seq = u.seq)
           AND NOT (SELECT allow_guests_in_licensed_groups FROM tenants WHERE id = ?1)`,
      )
      .bind(ctx.tenantId, group.seq),
  ]);
  for (const add of request.addLicenses) {
    const holding = holdings?.results.find((h) => h.skuId === add.skuId);
    if (!holding || Number(holding.company) + Number(holding.selfService) === 0)
      throw invalid(directMessages.invalidSku(add.skuId));
    if (Number(holding.company) === 0) throw invalid(directMessages.selfService(add.skuId));
    const skuPlans = new Set((plans?.results ?? []).filter((p) => p.skuId === add.skuId).map((p) => String(p.planId)));
    const unknown = add.disabledPlans.find((p) => !skuPlans.has(p));
    if (unknown) throw invalid(directMessages.planNotInSku(unknown, add.skuId));
  }
  if (Number(guests?.results[0]?.n ?? 0) > 0) throw invalid(groupMessages.guestInLicensedGroup);
}

/**
 * POST /groups/{id}/assignLicense: records the group's new licenses and queues their application to every member
 * (202). Adding and removing in one call swaps SKUs per member in one step, so members never lose shared services.
 */
export async function assignGroupLicenses({
  ctx,
  groupId,
  request,
}: {
  ctx: Ctx;
  groupId: string;
  request: AssignLicenseRequest;
}) {
  const group = await findGroup(ctx.d1, ctx.tenantId, groupId);
  if (!group) throw notFound(groupId);
  const before = (await loadGroupLicenses(ctx.d1, ctx.tenantId, [group.id])).get(group.id) ?? [];
  await checkGroupRequest(ctx, group, request, new Set(before.map((l) => l.skuId)));
  const now = ctx.now.toISOString();
  const after = [
    ...before.filter(
      (l) => !request.removeLicenses.includes(l.skuId) && !request.addLicenses.some((a) => a.skuId === l.skuId),
    ),
    ...request.addLicenses.map((a) => ({
      skuId: a.skuId,
      disabledPlans: [...new Set(a.disabledPlans)],
      assignedAt: now,
    })),
  ];
  const jobId = newId();
  await ctx.d1.batch([
    licensingChanged(ctx.d1, ctx.tenantId),
    ctx.d1
      .prepare(
        "DELETE FROM group_licenses WHERE tenant_id = ?1 AND group_id = ?2 AND sku_id IN (SELECT value FROM json_each(?3))",
      )
      .bind(ctx.tenantId, group.id, JSON.stringify(request.removeLicenses)),
    ctx.d1
      .prepare(
        `INSERT INTO group_licenses (tenant_id, group_id, sku_id, disabled_plans, assigned_at)
         SELECT ?1, ?2, value ->> '$.skuId', json(value -> '$.disabledPlans'), ?3 FROM json_each(?4) WHERE true
         ON CONFLICT (group_id, sku_id) DO UPDATE SET disabled_plans = excluded.disabled_plans`,
      )
      .bind(ctx.tenantId, group.id, now, JSON.stringify(request.addLicenses)),
    ...createJobStatements(ctx, { id: jobId, groupId: group.id, kind: "groupLicense" }),
    ctx.d1
      .prepare(
        "UPDATE groups SET license_processing_state = 'QueuedForProcessing', license_job_id = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2",
      )
      .bind(ctx.tenantId, group.id, jobId, now),
    auditStatement(ctx, {
      activity: "Set group license",
      category: "GroupManagement",
      operationType: "Update",
      targets: [
        {
          id: group.id,
          displayName: group.displayName,
          type: "Group",
          modifiedProperties: [
            {
              displayName: "AssignedLicense",
              oldValue: JSON.stringify(before.map(({ skuId, disabledPlans }) => ({ skuId, disabledPlans }))),
              newValue: JSON.stringify(after.map(({ skuId, disabledPlans }) => ({ skuId, disabledPlans }))),
            },
          ],
        },
      ],
    }),
  ]);
  await enqueue(ctx, [{ kind: "job", tenantId: ctx.tenantId, jobId }]);
  return { ...group, licenseProcessingState: "QueuedForProcessing", licenseJobId: jobId };
}

/** Re-applies the group's licenses to every member (a group-wide reprocess), through the same paged job. */
export async function reprocessGroup({ ctx, groupId }: { ctx: Ctx; groupId: string }) {
  const group = await findGroup(ctx.d1, ctx.tenantId, groupId);
  if (!group) throw notFound(groupId);
  const jobId = newId();
  await ctx.d1.batch([
    ...createJobStatements(ctx, { id: jobId, groupId: group.id, kind: "groupLicense" }),
    ctx.d1
      .prepare(
        "UPDATE groups SET license_processing_state = 'QueuedForProcessing', license_job_id = ?3 WHERE tenant_id = ?1 AND id = ?2",
      )
      .bind(ctx.tenantId, group.id, jobId),
    auditStatement(ctx, {
      activity: "Trigger group license recalculation",
      category: "GroupManagement",
      operationType: "Update",
      targets: [{ id: group.id, displayName: group.displayName, type: "Group" }],
    }),
  ]);
  await enqueue(ctx, [{ kind: "job", tenantId: ctx.tenantId, jobId }]);
  return { ...group, licenseProcessingState: "QueuedForProcessing", licenseJobId: jobId };
}
