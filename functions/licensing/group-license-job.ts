/** The group-license job kind: a group's licenses applied to its members, page by page of members. */
import { type AuditEntry, auditStatements } from "../audit/store.ts";
import { type Ctx, groupLicensingActor } from "../core/context.ts";
import { findGroup, type GroupRow } from "../directory/group-store.ts";
import { healSeatsIfWaiting, sendFollowUps, written } from "../jobs/outbox.ts";
import type { JobKind, QueryBudget } from "../jobs/runner.ts";
import type { JobCounts, JobRow } from "../jobs/store.ts";
import { consequenceBytesPerUser } from "./consequences.ts";
import { decidePage, fitted, type PageDecision } from "./page-rules.ts";
import {
  type Page,
  pageRead,
  pageWrites,
  readTenantLicensing,
  TENANT_LICENSING_QUERIES,
  type TenantLicensing,
} from "./page-store.ts";
import { freedSkus } from "./reconcile.ts";
import { groupProcessingStatement } from "./store.ts";

type Shared = { group: GroupRow; tenant: TenantLicensing };
type Decision = { decision: PageDecision; cursor: number };

const summary = (job: Pick<JobRow, "succeeded" | "failed">) =>
  `Users successfully assigned licenses: ${job.succeeded}, Users for whom license assignment failed: ${job.failed}.`;

export const groupAudit = (
  activity: string,
  group: Pick<GroupRow, "id" | "displayName">,
  details: AuditEntry["additionalDetails"] = [],
): AuditEntry => ({
  activity,
  category: "GroupManagement",
  operationType: "Update",
  targets: [{ id: group.id, displayName: group.displayName, type: "Group" }],
  additionalDetails: details,
});

/** Members of the page whose licenses from this group ended in an error count as failed, the others as assigned. */
export function groupCounts(decision: PageDecision, groupId: string): JobCounts {
  let succeeded = 0;
  let failed = 0;
  for (const { result } of decision.outcomes) {
    const mine = result.sources.filter((s) => s.sourceId === groupId);
    if (mine.some((s) => s.state === "Error")) failed++;
    else succeeded++;
  }
  return { processed: decision.outcomes.length, succeeded, failed };
}

/**
 * What a group's job shares over its pages: the group (a deleted group ends the job) and the tenant's licensing
 * inputs (rules, catalogue, country), read once per invocation.
 */
export async function loadGroupJob(ctx: Ctx, job: JobRow, budget: QueryBudget) {
  budget.charge(1);
  const group = await findGroup(ctx.d1, ctx.tenantId, job.subjectId);
  if (!group) return null;
  budget.charge(TENANT_LICENSING_QUERIES);
  return { group, tenant: await readTenantLicensing(ctx) };
}

/** A job's cursor is the last user seq it wrote ('' before the first page). */
export const afterCursor = (cursor: string) => Number(cursor || 0);

export const groupLicenseJob: JobKind<Shared, Page, Decision> = {
  actor: groupLicensingActor,
  load: loadGroupJob,
  onStart: (ctx, job, { group }) => [
    groupProcessingStatement(ctx, group.id, job.id, "ProcessingInProgress"),
    ...auditStatements(ctx, [groupAudit("Start applying group based license to users", group)]),
  ],
  onFinish: (ctx, job, { group }) => [
    groupProcessingStatement(ctx, group.id, job.id, "ProcessingComplete"),
    ...auditStatements(ctx, [
      groupAudit("Finish applying group based license to users", group, [{ key: "Result", value: summary(job) }]),
    ]),
  ],
  readPage: (ctx, { group }, cursor, pageSize) =>
    pageRead(ctx, {
      sql: "SELECT user_seq AS seq FROM group_members WHERE group_seq = ?2 AND user_seq > ?3 ORDER BY user_seq LIMIT ?4",
      params: [group.seq, afterCursor(cursor), pageSize],
    }),
  isEmpty: (page) => page.seqs.length === 0,
  decidePage(ctx, { tenant }, page, valueBytes) {
    const fit = fitted(page, valueBytes, consequenceBytesPerUser());
    return { decision: decidePage(ctx.now.toISOString(), tenant, { ...page, users: fit.users }), cursor: fit.cursor };
  },
  writePage(ctx, { group, tenant }, { decision, cursor }) {
    // Seats the page frees may be owed to members waiting in CountViolation: healed after the batch, if any wait.
    const heal = healSeatsIfWaiting(ctx, freedSkus(decision));
    return {
      writes: [...pageWrites(ctx, tenant, decision), ...(heal?.statements ?? [])],
      cursor: String(cursor),
      counts: groupCounts(decision, group.id),
      afterWrite: heal
        ? (results) => (written(results.at(-1)) ? sendFollowUps(ctx, [heal.id]) : Promise.resolve())
        : undefined,
    };
  },
};
