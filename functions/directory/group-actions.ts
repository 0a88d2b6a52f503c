/** The group verbs: create, update and delete groups, and add or remove their members. */

import { auditStatement, auditStatements, type ModifiedProperty, memberChangeStatements } from "../audit/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { isUniqueViolation } from "../core/sql.ts";
import { followUp, queueJob, type Recorded, sendFollowUps } from "../jobs/outbox.ts";
import { tenantSettings } from "../tenancy/store.ts";
import {
  countGroups as countStoredGroups,
  deleteGroupStatements,
  findGroup,
  type GroupListQuery,
  type GroupRow,
  hasSourceFrom,
  insertGroupStatement,
  listGroups as listStoredGroups,
  listMemberOf as listStoredMemberOf,
  removeMemberStatement,
  updateGroupStatement,
} from "./group-store.ts";
import { checkGroupShape, groupMessages, isDynamic } from "./rules.ts";
import { findUser, insertMembersStatement, isMember, type UserRow } from "./store.ts";

export type CreateGroupInput = {
  displayName: string;
  description?: string | null | undefined;
  mailEnabled: boolean;
  mailNickname: string;
  securityEnabled: boolean;
  groupTypes?: ("Unified" | "DynamicMembership")[] | undefined;
  membershipRule?: string | null | undefined;
  membershipRuleProcessingState?: "On" | "Paused" | null | undefined;
  /** Users to add as members in the same change (Graph's members@odata.bind), by id or userPrincipalName. */
  members?: string[] | undefined;
};

export type UpdateGroupInput = Partial<Omit<CreateGroupInput, "members">> & { members?: string[] | undefined };

const groupTarget = (group: Pick<GroupRow, "id" | "displayName">, modifiedProperties: ModifiedProperty[] = []) => ({
  id: group.id,
  displayName: group.displayName,
  type: "Group" as const,
  modifiedProperties,
});

async function resolveMembers(ctx: Ctx, refs: readonly string[]): Promise<UserRow[]> {
  const users: UserRow[] = [];
  for (const ref of refs) {
    const user = await findUser(ctx.d1, ctx.tenantId, ref);
    if (!user) throw invalid(groupMessages.unknownMember(ref));
    if (!users.some((u) => u.id === user.id)) users.push(user);
  }
  return users;
}

/** Guests may not join a licensed group unless the tenant allows it (spec §2.11). */
export async function checkGuests(ctx: Ctx, group: Pick<GroupRow, "licensed">, members: readonly UserRow[]) {
  if (!group.licensed || !members.some((m) => m.userType === "Guest")) return;
  if (!(await tenantSettings(ctx.d1, ctx.tenantId)).allowGuestsInLicensedGroups) {
    throw invalid(groupMessages.guestInLicensedGroup);
  }
}

export async function createGroup({ ctx, input }: { ctx: Ctx; input: CreateGroupInput }): Promise<GroupRow> {
  requireRole(ctx, can.manageUsers);
  const groupTypes = [...new Set(input.groupTypes ?? [])];
  checkGroupShape(groupTypes, input.membershipRule, input.membershipRule, input.members?.length ?? 0);
  const members = await resolveMembers(ctx, input.members ?? []);
  const dynamic = groupTypes.includes("DynamicMembership");
  const now = ctx.now.toISOString();
  const group: GroupRow = {
    seq: 0, // given by the insert below
    id: newId(),
    tenantId: ctx.tenantId,
    displayName: input.displayName,
    description: input.description ?? null,
    mailNickname: input.mailNickname,
    mailEnabled: input.mailEnabled,
    securityEnabled: input.securityEnabled,
    groupTypes,
    membershipRule: input.membershipRule ?? null,
    membershipRuleProcessingState: dynamic ? (input.membershipRuleProcessingState ?? "On") : null,
    licenseProcessingState: null,
    licenseJobId: null,
    ruleJobId: null,
    licensed: false,
    createdAt: now,
    updatedAt: now,
  };
  const ruleJob = dynamic && group.membershipRuleProcessingState === "On" ? newId() : null;
  group.ruleJobId = ruleJob;
  const evaluation = ruleJob ? queueJob(ctx, { id: ruleJob, subjectId: group.id, kind: "evaluateRule" }) : null;
  const [inserted] = await ctx.d1.batch<{ seq: number }>([
    insertGroupStatement(ctx.d1, group),
    ...(members.length ? [insertMembersStatement(ctx, group.id, members)] : []),
    ...(evaluation?.statements ?? []),
    ...auditStatements(ctx, [
      { activity: "Add group", category: "GroupManagement", operationType: "Add", targets: [groupTarget(group)] },
    ]),
    ...memberChangeStatements(
      ctx,
      group,
      members.map((user) => ({ user, added: true })),
    ),
  ]);
  group.seq = Number(inserted?.results[0]?.seq);
  if (evaluation) await sendFollowUps(ctx, [evaluation.id]);
  return group;
}

export async function updateGroup({ ctx, input }: { ctx: Ctx; input: { groupId: string; changes: UpdateGroupInput } }) {
  requireRole(ctx, can.manageUsers);
  const { changes } = input;
  const group = await findGroup(ctx.d1, ctx.tenantId, input.groupId);
  if (!group) throw notFound(input.groupId);
  const groupTypes = changes.groupTypes ? [...new Set(changes.groupTypes)] : group.groupTypes;
  const dynamic = groupTypes.includes("DynamicMembership");
  const rule = changes.membershipRule === undefined ? group.membershipRule : changes.membershipRule;
  checkGroupShape(groupTypes, rule, changes.membershipRule, changes.members?.length ?? 0);
  const members = await resolveMembers(ctx, changes.members ?? []);
  await checkGuests(ctx, group, members);
  const next: GroupRow = {
    ...group,
    displayName: changes.displayName ?? group.displayName,
    description: changes.description === undefined ? group.description : changes.description,
    mailNickname: changes.mailNickname ?? group.mailNickname,
    mailEnabled: changes.mailEnabled ?? group.mailEnabled,
    securityEnabled: changes.securityEnabled ?? group.securityEnabled,
    groupTypes,
    membershipRule: dynamic ? rule : null,
    membershipRuleProcessingState: dynamic
      ? (changes.membershipRuleProcessingState ?? group.membershipRuleProcessingState ?? "On")
      : null,
    updatedAt: ctx.now.toISOString(),
  };
  // Re-evaluate whenever what decides membership changed: the rule, the switch to dynamic, or processing resumed.
  const reevaluate =
    dynamic &&
    next.membershipRuleProcessingState === "On" &&
    (next.membershipRule !== group.membershipRule || !isDynamic(group) || group.membershipRuleProcessingState !== "On");
  const ruleJob = reevaluate ? newId() : null;
  if (ruleJob) next.ruleJobId = ruleJob;
  // Compared as JSON so that groupTypes (an array) is compared by value like the scalar properties.
  const tracked = [
    "displayName",
    "description",
    "mailNickname",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "membershipRule",
    "membershipRuleProcessingState",
  ] as const;
  const changed: ModifiedProperty[] = tracked
    .map((k) => ({ displayName: k as string, oldValue: JSON.stringify(group[k]), newValue: JSON.stringify(next[k]) }))
    .filter((p) => p.oldValue !== p.newValue);
  const work: Recorded[] = [
    ...(ruleJob ? [queueJob(ctx, { id: ruleJob, subjectId: group.id, kind: "evaluateRule" })] : []),
    // New members' licenses follow the group's.
    ...(members.length
      ? [followUp(ctx, { kind: "reconcileUsers", userIds: members.map((m) => m.id), reason: "membership" })]
      : []),
  ];
  try {
    await ctx.d1.batch([
      updateGroupStatement(ctx.d1, next),
      ...(members.length ? [insertMembersStatement(ctx, group.id, members)] : []),
      ...work.flatMap((w) => w.statements),
      ...auditStatements(
        ctx,
        changed.length
          ? [
              {
                activity: "Update group",
                category: "GroupManagement",
                operationType: "Update",
                targets: [groupTarget(next, changed)],
              },
            ]
          : [],
      ),
      ...memberChangeStatements(
        ctx,
        next,
        members.map((user) => ({ user, added: true })),
      ),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) throw invalid(groupMessages.alreadyMember);
    throw error;
  }
  await sendFollowUps(
    ctx,
    work.map((w) => w.id),
  );
  return next;
}

export async function deleteGroup({ ctx, input }: { ctx: Ctx; input: { groupId: string } }) {
  requireRole(ctx, can.manageUsers);
  const group = await findGroup(ctx.d1, ctx.tenantId, input.groupId);
  if (!group) throw notFound(input.groupId);
  if (group.licensed) throw invalid(groupMessages.licensedDelete);
  await ctx.d1.batch([
    ...deleteGroupStatements(ctx, group),
    auditStatement(ctx, {
      activity: "Delete group",
      category: "GroupManagement",
      operationType: "Delete",
      targets: [groupTarget(group)],
    }),
  ]);
}

export async function addGroupMember({ ctx, input }: { ctx: Ctx; input: { groupId: string; userRef: string } }) {
  requireRole(ctx, can.manageUsers);
  const group = await findGroup(ctx.d1, ctx.tenantId, input.groupId);
  if (!group) throw notFound(input.groupId);
  if (isDynamic(group)) throw invalid(groupMessages.dynamicMembers);
  const [user] = await resolveMembers(ctx, [input.userRef]);
  await checkGuests(ctx, group, [user!]);
  // A licensed group's new member gets its licenses.
  const reconcile = group.licensed
    ? followUp(ctx, { kind: "reconcileUsers", userIds: [user!.id], reason: "membership" })
    : null;
  try {
    await ctx.d1.batch([
      insertMembersStatement(ctx, group.id, [user!]),
      ...memberChangeStatements(ctx, group, [{ user: user!, added: true }]),
      ...(reconcile?.statements ?? []),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) throw invalid(groupMessages.alreadyMember);
    throw error;
  }
  if (reconcile) await sendFollowUps(ctx, [reconcile.id]);
}

export async function removeGroupMember({ ctx, input }: { ctx: Ctx; input: { groupId: string; userRef: string } }) {
  requireRole(ctx, can.manageUsers);
  const group = await findGroup(ctx.d1, ctx.tenantId, input.groupId);
  if (!group) throw notFound(input.groupId);
  if (isDynamic(group)) throw invalid(groupMessages.dynamicMembers);
  const user = await findUser(ctx.d1, ctx.tenantId, input.userRef);
  if (!user || !(await isMember(ctx.d1, group.seq, user.seq))) throw notFound(input.userRef);
  // Leaving a group takes its licenses (a source it left behind too, should the group have lost them meanwhile).
  const reconcile =
    group.licensed || (await hasSourceFrom(ctx.d1, user.seq, group.seq))
      ? followUp(ctx, { kind: "reconcileUsers", userIds: [user.id], reason: "membership" })
      : null;
  await ctx.d1.batch([
    removeMemberStatement(ctx.d1, group.seq, user.seq),
    ...memberChangeStatements(ctx, group, [{ user, added: false }]),
    ...(reconcile?.statements ?? []),
  ]);
  if (reconcile) await sendFollowUps(ctx, [reconcile.id]);
}

export async function getGroup({ ctx, input }: { ctx: Ctx; input: { groupId: string } }): Promise<GroupRow> {
  requireRole(ctx, can.readDirectory);
  const group = await findGroup(ctx.d1, ctx.tenantId, input.groupId);
  if (!group) throw notFound(input.groupId);
  return group;
}

/** A page of the tenant's groups (filtered), in id order; top + 1 rows tell whether there is more. */
export async function listGroups({ ctx, input }: { ctx: Ctx; input: GroupListQuery }) {
  requireRole(ctx, can.readDirectory);
  return listStoredGroups(ctx, input);
}

/** How many of the tenant's groups match (GET /groups/$count). */
export async function countGroups({ ctx, input }: { ctx: Ctx; input: Pick<GroupListQuery, "filter" | "search"> }) {
  requireRole(ctx, can.readDirectory);
  return countStoredGroups(ctx, input);
}

/** A page of the groups a user is a direct member of, in id order (top + 1 rows). */
export async function listMemberOf({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { userRef: string; top: number; after?: string | undefined };
}) {
  requireRole(ctx, can.readDirectory);
  const user = await findUser(ctx.d1, ctx.tenantId, input.userRef);
  if (!user) throw notFound(input.userRef);
  return listStoredMemberOf(ctx.d1, user.seq, input);
}
