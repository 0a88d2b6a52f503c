import type { Ctx } from "../core/context.ts";
import { membershipWrites, type QueryBudget, reconcileUsers } from "../licensing/group-jobs.ts";
import { groupColumns, toGroupRow } from "./group-store.ts";
import { evaluateMembershipRule, parseMembershipRule } from "./membership-rule.ts";
import { toUserRow, userColumns } from "./store.ts";

/**
 * A user changed: every active dynamic group's rule is evaluated for them, membership follows, and their licenses
 * are reconciled (a group they joined or left, or a new usage location, may change what they hold).
 */
export async function reevaluateUsers(ctx: Ctx, userIds: string[], budget: QueryBudget) {
  budget.charge(2);
  const [groupsResult, usersResult] = await ctx.d1.batch<Record<string, unknown>>([
    ctx.d1
      .prepare(
        `SELECT ${groupColumns} FROM groups g WHERE g.tenant_id = ?1 AND g.deleted_at IS NULL
           AND g.membership_rule IS NOT NULL AND g.membership_rule_processing_state = 'On'`,
      )
      .bind(ctx.tenantId),
    ctx.d1
      .prepare(
        `SELECT ${userColumns}, (SELECT json_group_array(group_seq) FROM group_members gm WHERE gm.user_seq = u.seq) AS groupSeqs
         FROM users u WHERE u.tenant_id = ?1 AND u.deleted_at IS NULL AND u.id IN (SELECT value FROM json_each(?2))`,
      )
      .bind(ctx.tenantId, JSON.stringify(userIds)),
  ]);
  const groups = (groupsResult?.results ?? [])
    .map(toGroupRow)
    .filter((g) => g.groupTypes.includes("DynamicMembership"));
  const users = (usersResult?.results ?? []).map((raw) => ({
    user: toUserRow(raw),
    groupSeqs: new Set(JSON.parse(String(raw.groupSeqs)) as number[]),
  }));
  const statements: D1PreparedStatement[] = [];
  for (const group of groups) {
    const rule = parseMembershipRule(group.membershipRule!);
    const adds = users
      .filter((u) => !u.groupSeqs.has(group.seq) && evaluateMembershipRule(rule, u.user))
      .map((u) => u.user);
    const removes = users
      .filter((u) => u.groupSeqs.has(group.seq) && !evaluateMembershipRule(rule, u.user))
      .map((u) => u.user);
    if (adds.length || removes.length) statements.push(...membershipWrites(ctx, group, adds, removes));
  }
  if (statements.length) {
    budget.charge(statements.length);
    await ctx.d1.batch(statements);
  }
  await reconcileUsers(
    ctx,
    users.map((u) => u.user.id),
    budget,
  );
}
