/**
 * A user changed: every active dynamic group's rule is evaluated for them, membership follows, and their licenses
 * are reconciled (a group they joined or left, or a new usage location, may change what they hold).
 */
import { type Ctx, dynamicMembershipActor } from "../core/context.ts";
import { activeDynamicGroups } from "../directory/group-store.ts";
import { evaluateMembershipRule, parseMembershipRule, RULE_STEPS_PER_PAGE } from "../directory/membership-rule.ts";
import { membershipWrites, usersWithGroups } from "../directory/store.ts";
import type { QueryBudget } from "../jobs/runner.ts";
import { pause, runBatch } from "../jobs/runner.ts";
import { reconcileUsers } from "../licensing/reconcile.ts";

export async function reevaluateUsers(ctx: Ctx, userIds: string[], budget: QueryBudget) {
  budget.charge(2);
  const [groups, users] = await Promise.all([
    activeDynamicGroups(ctx.d1, ctx.tenantId),
    usersWithGroups(ctx.d1, ctx.tenantId, userIds),
  ]);
  const statements: D1PreparedStatement[] = [];
  const membershipCtx = { ...ctx, actor: dynamicMembershipActor };
  // Rules are evaluated synchronously; every page's worth of steps (RULE_STEPS_PER_PAGE), the isolate's other requests
  // get their turn, so a tenant with many heavy rules, or a change to many users, never holds it for all at once.
  let stepsAtYield = budget.ruleSteps.steps;
  for (const group of groups) {
    const rule = parseMembershipRule(group.membershipRule!);
    const adds: (typeof users)[number]["user"][] = [];
    const removes: typeof adds = [];
    for (const u of users) {
      const member = u.groupSeqs.has(group.seq);
      const matches = evaluateMembershipRule(rule, u.user, budget.ruleSteps);
      if (matches && !member) adds.push(u.user);
      if (!matches && member) removes.push(u.user);
      if (budget.ruleSteps.steps - stepsAtYield >= RULE_STEPS_PER_PAGE) {
        await pause(0);
        stepsAtYield = budget.ruleSteps.steps;
      }
    }
    if (adds.length || removes.length) statements.push(...membershipWrites(membershipCtx, group, adds, removes));
  }
  if (statements.length) await runBatch(ctx, statements, budget);
  await reconcileUsers(
    ctx,
    users.map((u) => u.user.id),
    budget,
  );
}
