/**
 * A user changed: every active dynamic group's rule is evaluated for them, membership follows, and their licenses
 * are reconciled (a group they joined or left, or a new usage location, may change what they hold).
 */
import { type Ctx, dynamicMembershipActor } from "../core/context.ts";
import { activeDynamicGroups } from "../directory/group-store.ts";
import { evaluateMembershipRule, parseMembershipRule } from "../directory/membership-rule.ts";
import { membershipWrites, usersWithGroups } from "../directory/store.ts";
import type { QueryBudget } from "../jobs/runner.ts";
import { runBatch } from "../jobs/runner.ts";
import { reconcileUsers } from "../licensing/reconcile.ts";

export async function reevaluateUsers(ctx: Ctx, userIds: string[], budget: QueryBudget) {
  budget.charge(2);
  const [groups, users] = await Promise.all([
    activeDynamicGroups(ctx.d1, ctx.tenantId),
    usersWithGroups(ctx.d1, ctx.tenantId, userIds),
  ]);
  const statements: D1PreparedStatement[] = [];
  const membershipCtx = { ...ctx, actor: dynamicMembershipActor };
  for (const group of groups) {
    const rule = parseMembershipRule(group.membershipRule!);
    const adds = users
      .filter((u) => !u.groupSeqs.has(group.seq) && evaluateMembershipRule(rule, u.user))
      .map((u) => u.user);
    const removes = users
      .filter((u) => u.groupSeqs.has(group.seq) && !evaluateMembershipRule(rule, u.user))
      .map((u) => u.user);
    if (adds.length || removes.length) statements.push(...membershipWrites(membershipCtx, group, adds, removes));
  }
  if (statements.length) await runBatch(ctx, statements, budget);
  await reconcileUsers(
    ctx,
    users.map((u) => u.user.id),
    budget,
  );
}
