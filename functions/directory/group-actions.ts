import { auditStatement, auditStatements, type ModifiedProperty, memberChangeStatements } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { enqueue } from "../jobs/queue.ts";
import { createJobStatements } from "../licensing/group-jobs.ts";
import { type CreateGroupInput, idFromBindUrl, type UpdateGroupInput } from "./group-schemas.ts";
import { findGroup, type GroupRow, isDynamic } from "./group-store.ts";
import { MembershipRuleError, parseMembershipRule } from "./membership-rule.ts";
import { findUser, type UserRow } from "./store.ts";

export const groupMessages = {
  alreadyMember: "One or more added object references already exist for the following modified properties: 'members'.",
  dynamicMembers:
    "Members of a group with dynamic membership are set by its membership rule and cannot be added or removed manually.",
  licensedDelete:
    "It isn't possible to delete a group with an active license assigned. Remove the group's licenses first (POST /groups/{id}/assignLicense with removeLicenses).",
  guestInLicensedGroup:
    "Group-based licensing isn't supported for groups that contain guest users: this group holds licenses, so a guest can't be added. Turn on allowGuestsInLicensedGroups for the tenant to allow it.",
  ruleRequired: "A group with DynamicMembership in groupTypes needs a membershipRule.",
  ruleWithoutDynamic: "membershipRule can only be set on a group with DynamicMembership in groupTypes.",
  notMember: (userId: string) =>
    `Resource '${userId}' does not exist or one of its queried reference-property objects are not present.`,
};

export function checkRule(rule: string) {
  try {
    parseMembershipRule(rule);
  } catch (error) {
    if (error instanceof MembershipRuleError) throw invalid(`Invalid membershipRule: ${error.message}`);
    throw error;
  }
}

const groupTarget = (group: Pick<GroupRow, "id" | "displayName">, modifiedProperties: ModifiedProperty[] = []) => ({
  id: group.id,
  displayName: group.displayName,
  type: "Group" as const,
  modifiedProperties,
});

async function groupHoldsLicenses(ctx: Ctx, groupId: string) {
  const row = await ctx.d1
    .prepare("SELECT count(*) AS n FROM group_licenses WHERE tenant_id = ?1 AND group_id = ?2")
    .bind(ctx.tenantId, groupId)
    .first<{ n: number }>();
  return (row?.n ?? 0) > 0;
}

async function guestsAllowed(ctx: Ctx) {
  const row = await ctx.d1
    .prepare("SELECT allow_guests_in_licensed_groups AS allowed FROM tenants WHERE id = ?1")
    .bind(ctx.tenantId)
    .first<{ allowed: number }>();
  return row?.allowed === 1;
}

async function resolveMembers(ctx: Ctx, urls: string[]): Promise<UserRow[]> {
  const users: UserRow[] = [];
  for (const url of urls) {
    const id = idFromBindUrl(url);
    const user = await findUser(ctx.d1, ctx.tenantId, id);
    if (!user)
      throw invalid(`The source resource object or one of the objects being referenced do not exist: '${id}'.`);
    if (!users.some((u) => u.id === user.id)) users.push(user);
  }
  return users;
}

// By the group's id: a group created in the same batch has no seq known yet.
const insertMembers = (ctx: Ctx, groupId: string, users: UserRow[]) =>
  ctx.d1
    .prepare(
      `INSERT INTO group_members (group_seq, user_seq, added_at)
       SELECT (SELECT seq FROM groups WHERE tenant_id = ?1 AND id = ?2), value, ?3 FROM json_each(?4)`,
    )
    .bind(ctx.tenantId, groupId, ctx.now.toISOString(), JSON.stringify(users.map((u) => u.seq)));

const isUniqueViolation = (error: unknown) =>
  error instanceof Error && /UNIQUE constraint failed|PRIMARY KEY/i.test(error.message);

export async function createGroup({ ctx, input }: { ctx: Ctx; input: CreateGroupInput }): Promise<GroupRow> {
  const groupTypes = [...new Set(input.groupTypes ?? [])];
  const dynamic = groupTypes.includes("DynamicMembership");
  if (dynamic && !input.membershipRule) throw invalid(groupMessages.ruleRequired);
  if (!dynamic && input.membershipRule) throw invalid(groupMessages.ruleWithoutDynamic);
  if (input.membershipRule) checkRule(input.membershipRule);
  const bind = input["members@odata.bind"] ?? [];
  if (dynamic && bind.length > 0) throw invalid(groupMessages.dynamicMembers);
  const members = await resolveMembers(ctx, bind);
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
    createdAt: now,
    updatedAt: now,
  };
  const ruleJob = dynamic && group.membershipRuleProcessingState === "On" ? newId() : null;
  group.ruleJobId = ruleJob;
  const [inserted] = await ctx.d1.batch<{ seq: number }>([
    ctx.d1
      .prepare(
        `INSERT INTO groups (id, tenant_id, display_name, description, mail_nickname, mail_enabled, security_enabled, group_types,
           membership_rule, membership_rule_processing_state, rule_job_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) RETURNING seq`,
      )
      .bind(
        group.id,
        ctx.tenantId,
        group.displayName,
        group.description,
        group.mailNickname,
        group.mailEnabled ? 1 : 0,
        group.securityEnabled ? 1 : 0,
        JSON.stringify(groupTypes),
        group.membershipRule,
        group.membershipRuleProcessingState,
        ruleJob,
        now,
      ),
    ...(members.length ? [insertMembers(ctx, group.id, members)] : []),
    ...(ruleJob ? createJobStatements(ctx, { id: ruleJob, groupId: group.id, kind: "evaluateRule" }) : []),
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
  if (ruleJob) await enqueue(ctx, [{ kind: "job", tenantId: ctx.tenantId, jobId: ruleJob }]);
  return group;
}

export async function updateGroup({ ctx, groupId, input }: { ctx: Ctx; groupId: string; input: UpdateGroupInput }) {
  const group = await findGroup(ctx.d1, ctx.tenantId, groupId);
  if (!group) throw notFound(groupId);
  const groupTypes = input.groupTypes ? [...new Set(input.groupTypes)] : group.groupTypes;
  const dynamic = groupTypes.includes("DynamicMembership");
  const rule = input.membershipRule === undefined ? group.membershipRule : input.membershipRule;
  if (dynamic && !rule) throw invalid(groupMessages.ruleRequired);
  if (!dynamic && input.membershipRule) throw invalid(groupMessages.ruleWithoutDynamic);
  if (input.membershipRule) checkRule(input.membershipRule);
  const bind = input["members@odata.bind"] ?? [];
  if (dynamic && bind.length > 0) throw invalid(groupMessages.dynamicMembers);
  const members = await resolveMembers(ctx, bind);
  if (
    members.some((m) => m.userType === "Guest") &&
    (await groupHoldsLicenses(ctx, group.id)) &&
    !(await guestsAllowed(ctx))
  ) {
    throw invalid(groupMessages.guestInLicensedGroup);
  }
  const next: GroupRow = {
    ...group,
    displayName: input.displayName ?? group.displayName,
    description: input.description === undefined ? group.description : input.description,
    mailNickname: input.mailNickname ?? group.mailNickname,
    mailEnabled: input.mailEnabled ?? group.mailEnabled,
    securityEnabled: input.securityEnabled ?? group.securityEnabled,
    groupTypes,
    membershipRule: dynamic ? rule : null,
    membershipRuleProcessingState: dynamic
      ? (input.membershipRuleProcessingState ?? group.membershipRuleProcessingState ?? "On")
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
  try {
    await ctx.d1.batch([
      ctx.d1
        .prepare(
          `UPDATE groups SET display_name = ?3, description = ?4, mail_nickname = ?5, mail_enabled = ?6, security_enabled = ?7,
             group_types = ?8, membership_rule = ?9, membership_rule_processing_state = ?10, rule_job_id = ?11, updated_at = ?12
           WHERE tenant_id = ?1 AND id = ?2`,
        )
        .bind(
          ctx.tenantId,
          group.id,
          next.displayName,
          next.description,
          next.mailNickname,
          next.mailEnabled ? 1 : 0,
          next.securityEnabled ? 1 : 0,
          JSON.stringify(next.groupTypes),
          next.membershipRule,
          next.membershipRuleProcessingState,
          next.ruleJobId,
          next.updatedAt,
        ),
      ...(members.length ? [insertMembers(ctx, group.id, members)] : []),
      ...(ruleJob ? createJobStatements(ctx, { id: ruleJob, groupId: group.id, kind: "evaluateRule" }) : []),
      ...auditStatements(ctx, [
        ...(changed.length
          ? [
              {
                activity: "Update group",
                category: "GroupManagement" as const,
                operationType: "Update" as const,
                targets: [groupTarget(next, changed)],
              },
            ]
          : []),
      ]),
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
  const jobs = [
    ...(ruleJob ? [{ kind: "job" as const, tenantId: ctx.tenantId, jobId: ruleJob }] : []),
    ...(members.length
      ? [
          {
            kind: "reconcileUsers" as const,
            tenantId: ctx.tenantId,
            userIds: members.map((m) => m.id),
            reason: "membership",
          },
        ]
      : []),
  ];
  if (jobs.length) await enqueue(ctx, jobs);
  return next;
}

export async function deleteGroup({ ctx, groupId }: { ctx: Ctx; groupId: string }) {
  const group = await findGroup(ctx.d1, ctx.tenantId, groupId);
  if (!group) throw notFound(groupId);
  if (await groupHoldsLicenses(ctx, group.id)) throw invalid(groupMessages.licensedDelete);
  await ctx.d1.batch([
    ctx.d1
      .prepare("UPDATE groups SET deleted_at = ?3, updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2")
      .bind(ctx.tenantId, group.id, ctx.now.toISOString()),
    ctx.d1.prepare("DELETE FROM group_members WHERE group_seq = ?1").bind(group.seq),
    auditStatement(ctx, {
      activity: "Delete group",
      category: "GroupManagement",
      operationType: "Delete",
      targets: [groupTarget(group)],
    }),
  ]);
}

export async function addGroupMember({ ctx, groupId, memberUrl }: { ctx: Ctx; groupId: string; memberUrl: string }) {
  const group = await findGroup(ctx.d1, ctx.tenantId, groupId);
  if (!group) throw notFound(groupId);
  if (isDynamic(group)) throw invalid(groupMessages.dynamicMembers);
  const [user] = await resolveMembers(ctx, [memberUrl]);
  const licensed = await groupHoldsLicenses(ctx, group.id);
  if (user!.userType === "Guest" && licensed && !(await guestsAllowed(ctx)))
    throw invalid(groupMessages.guestInLicensedGroup);
  try {
    await ctx.d1.batch([
      insertMembers(ctx, group.id, [user!]),
      ...memberChangeStatements(ctx, group, [{ user: user!, added: true }]),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) throw invalid(groupMessages.alreadyMember);
    throw error;
  }
  if (licensed)
    await enqueue(ctx, [{ kind: "reconcileUsers", tenantId: ctx.tenantId, userIds: [user!.id], reason: "membership" }]);
}

export async function removeGroupMember({ ctx, groupId, userRef }: { ctx: Ctx; groupId: string; userRef: string }) {
  const group = await findGroup(ctx.d1, ctx.tenantId, groupId);
  if (!group) throw notFound(groupId);
  if (isDynamic(group)) throw invalid(groupMessages.dynamicMembers);
  const user = await findUser(ctx.d1, ctx.tenantId, userRef);
  if (!user) throw notFound(userRef);
  const member = await ctx.d1
    .prepare("SELECT 1 AS x FROM group_members WHERE group_seq = ?1 AND user_seq = ?2")
    .bind(group.seq, user.seq)
    .first();
  if (!member) throw notFound(userRef);
  await ctx.d1.batch([
    ctx.d1.prepare("DELETE FROM group_members WHERE group_seq = ?1 AND user_seq = ?2").bind(group.seq, user.seq),
    ...memberChangeStatements(ctx, group, [{ user, added: false }]),
  ]);
  if ((await groupHoldsLicenses(ctx, group.id)) || (await userHasSourceFrom(ctx, user.seq, group.seq))) {
    await enqueue(ctx, [{ kind: "reconcileUsers", tenantId: ctx.tenantId, userIds: [user.id], reason: "membership" }]);
  }
}

async function userHasSourceFrom(ctx: Ctx, userSeq: number, groupSeq: number) {
  const row = await ctx.d1
    .prepare("SELECT 1 AS x FROM license_sources WHERE user_seq = ?1 AND source_seq = ?2 LIMIT 1")
    .bind(userSeq, groupSeq)
    .first();
  return row !== null;
}
