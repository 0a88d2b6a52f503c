/**
 * The dynamic-rule job kind: a group's membership rule evaluated over all the tenant's users, page by page. Membership
 * follows the rule and the affected users' licenses are reconciled in the batch that moves the cursor: one change
 * across the directory and licensing, hence here.
 */
import { dynamicMembershipActor, groupLicensingActor } from "../core/context.ts";
import type { GroupRow } from "../directory/group-store.ts";
import {
  evaluateMembershipRule,
  type MembershipRule,
  parseMembershipRule,
  ruleProperties,
  usersPerPage,
} from "../directory/membership-rule.ts";
import { type MemberUser, membershipWrites } from "../directory/store.ts";
import type { JobKind } from "../jobs/runner.ts";
import type { JobCounts } from "../jobs/store.ts";
import { consequenceBytesPerUser } from "../licensing/consequences.ts";
import { afterCursor, groupCounts, loadGroupJob } from "../licensing/group-license-job.ts";
import { decidePage, fitted, type PageDecision } from "../licensing/page-rules.ts";
import { type Page, pageRead, pageWrites, type TenantLicensing } from "../licensing/page-store.ts";

type Shared = { group: GroupRow; rule: MembershipRule | null; usersPerPage: number; tenant: TenantLicensing };

type Decision = {
  adds: MemberUser[];
  removes: MemberUser[];
  decision: PageDecision;
  cursor: number;
  counts: JobCounts;
};

export const membershipRuleJob: JobKind<Shared, Page, Decision> = {
  actor: groupLicensingActor,
  async load(ctx, job, budget) {
    const shared = await loadGroupJob(ctx, job, budget);
    if (!shared) return null;
    const rule = shared.group.membershipRule ? parseMembershipRule(shared.group.membershipRule) : null;
    return { ...shared, rule, usersPerPage: usersPerPage(rule) };
  },
  readPage: (ctx, { group, rule, usersPerPage }, cursor, pageSize) =>
    pageRead(
      ctx,
      {
        sql: "SELECT seq FROM users WHERE tenant_id = ?1 AND deleted_at IS NULL AND seq > ?2 ORDER BY seq LIMIT ?3",
        params: [afterCursor(cursor), Math.min(pageSize, usersPerPage)],
      },
      { withAttributes: rule ? [...ruleProperties(rule)] : [], memberOf: group.seq },
    ),
  isEmpty: (page) => page.seqs.length === 0,
  decidePage(ctx, { group, rule, tenant }, page, valueBytes, budget) {
    // Only a security group's licenses are inherited: grantsOf holds no other.
    const grants = page.grantsOf.get(group.id) ?? [];
    const adds: MemberUser[] = [];
    const removes: MemberUser[] = [];
    const touched: typeof page.users = [];
    // Decided on the membership the page is about to write, so grants are settled before the page is fitted.
    const matching = page.users.map(
      (user) => rule !== null && evaluateMembershipRule(rule, user.attributes!, budget.ruleSteps),
    );
    for (const [i, user] of page.users.entries()) {
      if (matching[i] && !user.member) user.grants.push(...grants);
      if (!matching[i] && user.member) user.grants = user.grants.filter((g) => g.groupId !== group.id);
    }
    const fit = fitted(page, valueBytes, consequenceBytesPerUser());
    for (const [i, user] of fit.users.entries()) {
      const matches = matching[i]!;
      const sourced = user.sources.some((s) => s.sourceId === group.id);
      if (matches && !user.member) adds.push(user);
      if (!matches && user.member) removes.push(user);
      if (matches || user.member || sourced) touched.push(user);
    }
    const decision = decidePage(ctx.now.toISOString(), tenant, { ...page, users: touched });
    const counts = grants.length > 0 ? groupCounts(decision, group.id) : { processed: 0, succeeded: 0, failed: 0 };
    // Every user of the tenant was looked at; only the group's members count as assigned or failed.
    return {
      adds,
      removes,
      decision,
      cursor: fit.cursor,
      counts: { ...counts, processed: page.seqs.indexOf(fit.cursor) + 1 },
    };
  },
  writePage: (ctx, { group, tenant }, { adds, removes, decision, cursor, counts }) => ({
    writes: [
      ...membershipWrites({ ...ctx, actor: dynamicMembershipActor }, group, adds, removes),
      ...pageWrites(ctx, tenant, decision),
    ],
    cursor: String(cursor),
    counts,
  }),
};
