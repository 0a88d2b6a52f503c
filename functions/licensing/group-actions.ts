/** The group licensing verbs: set the licenses a group hands out, and reprocess them for every member. */
import { auditStatement } from "../audit/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { findGroup, type GroupRow, guestMemberCount } from "../directory/group-store.ts";
import { groupMessages } from "../directory/rules.ts";
import { queueJob, sendFollowUps } from "../jobs/outbox.ts";
import { licensingChanged, tenantSettings } from "../tenancy/store.ts";
import { type AssignLicenseRequest, checkGrantable, checkRequestShape } from "./direct-rules.ts";
import { loadGroupLicenses, queueGroupProcessingStatement, readHoldings, setGroupLicensesStatements } from "./store.ts";

export const groupLicenseMessages = {
  notSecurityEnabled:
    "License assignment is only supported for security-enabled groups (securityEnabled must be true).",
  notOnGroup: (skuId: string) => `License ${skuId} is not assigned to the group.`,
};

/** Validates a group license change against the catalogue, the tenant's subscriptions and the group's members. */
export async function checkGroupRequest(
  ctx: Ctx,
  group: GroupRow,
  request: AssignLicenseRequest,
  current: Set<string>,
) {
  if (!group.securityEnabled) throw invalid(groupLicenseMessages.notSecurityEnabled);
  checkRequestShape(request);
  for (const skuId of request.removeLicenses) {
    if (!current.has(skuId)) throw invalid(groupLicenseMessages.notOnGroup(skuId));
  }
  if (request.addLicenses.length === 0) return;
  const [holdings, guests, settings] = await Promise.all([
    readHoldings(
      ctx,
      request.addLicenses.map((a) => a.skuId),
    ),
    guestMemberCount(ctx.d1, ctx.tenantId, group.seq),
    tenantSettings(ctx.d1, ctx.tenantId),
  ]);
  for (const add of request.addLicenses) checkGrantable(holdings, add);
  if (guests > 0 && !settings.allowGuestsInLicensedGroups) throw invalid(groupMessages.guestInLicensedGroup);
}

/** The group's processing job, queued: its state shows as licenseProcessingState until the job finishes. */
function queueProcessing(ctx: Ctx, group: GroupRow, jobId: string) {
  const run = queueJob(ctx, { id: jobId, subjectId: group.id, kind: "groupLicense" });
  return { id: run.id, statements: [...run.statements, queueGroupProcessingStatement(ctx, group.id, jobId)] };
}

/**
 * POST /groups/{id}/assignLicense: records the group's new licenses and queues their application to every member
 * (202). Adding and removing in one call swaps SKUs per member in one step, so members never lose shared services.
 */
export async function assignGroupLicenses({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: AssignLicenseRequest & { groupId: string };
}) {
  requireRole(ctx, can.assignLicenses);
  const request = { addLicenses: input.addLicenses, removeLicenses: input.removeLicenses };
  const group = await findGroup(ctx.d1, ctx.tenantId, input.groupId);
  if (!group) throw notFound(input.groupId);
  const before = (await loadGroupLicenses(ctx.d1, ctx.tenantId, [group.id])).get(group.id) ?? [];
  await checkGroupRequest(ctx, group, request, new Set(before.map((l) => l.skuId)));
  const added = request.addLicenses.map((a) => ({ skuId: a.skuId, disabledPlans: [...new Set(a.disabledPlans)] }));
  const after = [
    ...before.filter(
      (l) => !request.removeLicenses.includes(l.skuId) && !request.addLicenses.some((a) => a.skuId === l.skuId),
    ),
    ...added,
  ];
  const jobId = newId();
  const processing = queueProcessing(ctx, group, jobId);
  await ctx.d1.batch([
    licensingChanged(ctx.d1, ctx.tenantId),
    ...setGroupLicensesStatements(ctx, group.id, request),
    ...processing.statements,
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
  await sendFollowUps(ctx, [processing.id]);
  return { ...group, licenseProcessingState: "QueuedForProcessing", licenseJobId: jobId, licensed: after.length > 0 };
}

/** Re-applies the group's licenses to every member (a group-wide reprocess), through the same paged job. */
export async function reprocessGroup({ ctx, input }: { ctx: Ctx; input: { groupId: string } }) {
  requireRole(ctx, can.assignLicenses);
  const group = await findGroup(ctx.d1, ctx.tenantId, input.groupId);
  if (!group) throw notFound(input.groupId);
  const jobId = newId();
  const processing = queueProcessing(ctx, group, jobId);
  await ctx.d1.batch([
    ...processing.statements,
    auditStatement(ctx, {
      activity: "Trigger group license recalculation",
      category: "GroupManagement",
      operationType: "Update",
      targets: [{ id: group.id, displayName: group.displayName, type: "Group" }],
    }),
  ]);
  await sendFollowUps(ctx, [processing.id]);
  return { ...group, licenseProcessingState: "QueuedForProcessing", licenseJobId: jobId };
}
