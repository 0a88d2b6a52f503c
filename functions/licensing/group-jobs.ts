import { type AuditEntry, type AuditUser, auditStatements, memberChangeStatements } from "../audit/store.ts";
import { type Ctx, groupLicensingActor } from "../core/context.ts";
import { guardSql, isGuardFailure } from "../core/sql.ts";
import { findGroup, type GroupRow } from "../directory/group-store.ts";
import { evaluateMembershipRule, parseMembershipRule, ruleProperties } from "../directory/membership-rule.ts";
import { Pacer } from "../jobs/pacing.ts";
import { enqueue } from "../jobs/queue.ts";
import {
  decidePage,
  type PageDecision,
  pageWrites,
  READ_PAGE_QUERIES,
  readPage,
  readTenantLicensing,
  type TenantLicensing,
} from "./bulk.ts";
import { DIRECT } from "./rules.ts";
import { seatWaiters, waitingSkus } from "./store.ts";

/** Members per page: one read batch and one write batch each (a few set-based statements, never one per member). */
export const PAGE_SIZE = 1000;
/** Production allows 1,000 D1 queries per invocation; stop well before, and continue in a new message. */
export const QUERY_BUDGET = 900;
const PAGE_ATTEMPTS = 8;

/** Counts the statements an invocation sends to D1 (a batch of n statements is n queries). */
export class QueryBudget {
  used = 0;
  readonly limit: number;
  /** Members per page; tests shrink it to exercise many pages cheaply. */
  readonly pageSize: number;
  constructor(limit = QUERY_BUDGET, pageSize = PAGE_SIZE) {
    this.limit = limit;
    this.pageSize = pageSize;
  }
  charge(n: number) {
    this.used += n;
  }
  allows(n: number) {
    return this.used + n <= this.limit;
  }
}

export type JobKind = "groupLicense" | "evaluateRule";

/** Creates a job and retires any earlier unfinished job of the same kind for the group (the newer intent wins). */
export function createJobStatements(
  ctx: Ctx,
  job: { id: string; groupId: string; kind: JobKind },
): D1PreparedStatement[] {
  const now = ctx.now.toISOString();
  return [
    ctx.d1
      .prepare(
        `UPDATE license_jobs SET state = 'Superseded', updated_at = ?4
         WHERE tenant_id = ?1 AND group_id = ?2 AND kind = ?3 AND state IN ('Queued', 'Running')`,
      )
      .bind(ctx.tenantId, job.groupId, job.kind, now),
    ctx.d1
      .prepare(
        `INSERT INTO license_jobs (id, tenant_id, group_id, kind, state, cursor, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'Queued', '', ?5, ?5)`,
      )
      .bind(job.id, ctx.tenantId, job.groupId, job.kind, now),
  ];
}

type JobRow = {
  id: string;
  groupId: string;
  kind: JobKind;
  state: "Queued" | "Running" | "Complete" | "Superseded";
  cursor: string;
  processed: number;
  succeeded: number;
  failed: number;
};

async function readJob(ctx: Ctx, jobId: string, budget: QueryBudget): Promise<JobRow | null> {
  budget.charge(1);
  return ctx.d1
    .prepare(
      `SELECT id, group_id AS groupId, kind, state, cursor, processed, succeeded, failed FROM license_jobs
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(ctx.tenantId, jobId)
    .first<JobRow>();
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(ctx: Ctx, statements: D1PreparedStatement[], budget: QueryBudget) {
  budget.charge(statements.length);
  return ctx.d1.batch(statements);
}

const summary = (job: Pick<JobRow, "succeeded" | "failed">) =>
  `Users successfully assigned licenses: ${job.succeeded}, Users for whom license assignment failed: ${job.failed}.`;

const groupAudit = (activity: string, group: GroupRow, details: AuditEntry["additionalDetails"] = []): AuditEntry => ({
  activity,
  category: "GroupManagement",
  operationType: "Update",
  targets: [{ id: group.id, displayName: group.displayName, type: "Group" }],
  additionalDetails: details,
});

/**
 * Runs a paged job from its durable cursor until done or until this invocation's query budget is spent.
 * Safe to run twice for the same job at once or after a crash: every page's writes carry a guard on the cursor they
 * started from, so a page lands once; a lost race re-reads the job and carries on from where it stands.
 */
export async function runJob(baseCtx: Ctx, jobId: string, budget: QueryBudget): Promise<"done" | "continue" | "gone"> {
  const ctx: Ctx = { ...baseCtx, actor: groupLicensingActor };
  let job = await readJob(ctx, jobId, budget);
  if (!job || job.state === "Complete" || job.state === "Superseded") return "gone";
  const group = await findGroup(ctx.d1, ctx.tenantId, job.groupId);
  budget.charge(1);
  if (!group) {
    await run(ctx, [ctx.d1.prepare("UPDATE license_jobs SET state = 'Superseded' WHERE id = ?1").bind(job.id)], budget);
    return "gone";
  }
  if (job.state === "Queued") {
    const started = [
      ctx.d1
        .prepare("UPDATE license_jobs SET state = 'Running', updated_at = ?2 WHERE id = ?1 AND state = 'Queued'")
        .bind(job.id, ctx.now.toISOString()),
      ctx.d1.prepare(guardSql("changes() = 1")),
      ...(job.kind === "groupLicense"
        ? [
            ctx.d1
              .prepare(
                "UPDATE groups SET license_processing_state = 'ProcessingInProgress' WHERE id = ?1 AND license_job_id = ?2",
              )
              .bind(group.id, job.id),
            ...auditStatements(ctx, [groupAudit("Start applying group based license to users", group)]),
          ]
        : []),
    ];
    try {
      await run(ctx, started, budget);
    } catch (error) {
      if (!isGuardFailure(error)) throw error;
    }
    job = await readJob(ctx, jobId, budget);
    if (job?.state !== "Running") return "gone";
  }
  const tenant = await readTenantLicensing(ctx);
  budget.charge(3);
  const rule = job.kind === "evaluateRule" && group.membershipRule ? parseMembershipRule(group.membershipRule) : null;
  let attempts = 0;
  let current: JobRow = job;
  const pacer = new Pacer(budget.pageSize);
  while (budget.allows(40)) {
    const started = Date.now();
    const pageSize = pacer.pageSize();
    const step: JobRow | "raced" | "finished" =
      current.kind === "groupLicense"
        ? await groupLicensePage(ctx, tenant, group, current, budget, pageSize)
        : await rulePage(ctx, tenant, group, current, rule, budget, pageSize);
    if (step === "raced") {
      if (++attempts > PAGE_ATTEMPTS) throw new Error(`job ${current.id}: page kept losing races`);
      const reread = await readJob(ctx, jobId, budget);
      if (reread?.state !== "Running") return "gone";
      current = reread;
      continue;
    }
    attempts = 0;
    if (step === "finished") return "done";
    current = step;
    await pacer.rest(Date.now() - started);
  }
  return "continue";
}

function cursorAdvance(
  ctx: Ctx,
  job: JobRow,
  next: string,
  counts: { processed: number; succeeded: number; failed: number },
) {
  return [
    ctx.d1
      .prepare(
        `UPDATE license_jobs SET cursor = ?3, processed = processed + ?4, succeeded = succeeded + ?5, failed = failed + ?6, updated_at = ?7
         WHERE id = ?1 AND cursor = ?2 AND state = 'Running'`,
      )
      .bind(job.id, job.cursor, next, counts.processed, counts.succeeded, counts.failed, ctx.now.toISOString()),
    ctx.d1.prepare(guardSql("changes() = 1")),
  ];
}

async function finish(ctx: Ctx, group: GroupRow, job: JobRow, budget: QueryBudget) {
  const statements = [
    ctx.d1
      .prepare(
        "UPDATE license_jobs SET state = 'Complete', updated_at = ?3 WHERE id = ?1 AND cursor = ?2 AND state = 'Running'",
      )
      .bind(job.id, job.cursor, ctx.now.toISOString()),
    ctx.d1.prepare(guardSql("changes() = 1")),
    ...(job.kind === "groupLicense"
      ? [
          ctx.d1
            .prepare(
              "UPDATE groups SET license_processing_state = 'ProcessingComplete' WHERE id = ?1 AND license_job_id = ?2",
            )
            .bind(group.id, job.id),
          ...auditStatements(ctx, [
            groupAudit("Finish applying group based license to users", group, [{ key: "Result", value: summary(job) }]),
          ]),
        ]
      : []),
  ];
  try {
    await run(ctx, statements, budget);
    return "finished" as const;
  } catch (error) {
    if (isGuardFailure(error)) return "raced" as const;
    throw error;
  }
}

function groupCounts(decision: PageDecision, groupId: string) {
  let succeeded = 0;
  let failed = 0;
  for (const { result } of decision.outcomes) {
    const mine = result.sources.filter((s) => s.sourceId === groupId);
    if (mine.some((s) => s.state === "Error")) failed++;
    else succeeded++;
  }
  return { processed: decision.outcomes.length, succeeded, failed };
}

async function groupLicensePage(
  ctx: Ctx,
  tenant: TenantLicensing,
  group: GroupRow,
  job: JobRow,
  budget: QueryBudget,
  pageSize: number,
) {
  const page = await readPage(ctx, {
    sql: "SELECT user_id AS id FROM group_members WHERE +tenant_id = ?1 AND group_id = ?2 AND user_id > ?3 ORDER BY user_id LIMIT ?4",
    params: [group.id, job.cursor, pageSize],
  });
  budget.charge(READ_PAGE_QUERIES);
  if (page.ids.length === 0) return finish(ctx, group, job, budget);
  const decision = decidePage(ctx, tenant, page);
  const counts = groupCounts(decision, group.id);
  const next = page.ids[page.ids.length - 1]!;
  const waiting = seatWaiters(ctx, freedSkus(decision));
  let results: D1Result[];
  try {
    results = await run(
      ctx,
      [...pageWrites(ctx, tenant, decision), ...cursorAdvance(ctx, job, next, counts), ...waiting],
      budget,
    );
  } catch (error) {
    if (isGuardFailure(error)) return "raced" as const;
    throw error;
  }
  if (waiting.length) await healWaiting(ctx, waitingSkus(results));
  return {
    ...job,
    cursor: next,
    processed: job.processed + counts.processed,
    succeeded: job.succeeded + counts.succeeded,
    failed: job.failed + counts.failed,
  };
}

/**
 * One page of a dynamic rule evaluation over all the tenant's users: membership follows the rule, and the page's
 * affected users are reconciled in the batch that moves the cursor. One read brings the users' attributes, whether
 * they are members, and their licensing; their licenses are decided on the membership this page is about to write.
 */
async function rulePage(
  ctx: Ctx,
  tenant: TenantLicensing,
  group: GroupRow,
  job: JobRow,
  rule: ReturnType<typeof parseMembershipRule> | null,
  budget: QueryBudget,
  pageSize: number,
) {
  const page = await readPage(
    ctx,
    {
      sql: "SELECT id FROM users WHERE tenant_id = ?1 AND deleted_at IS NULL AND id > ?2 ORDER BY id LIMIT ?3",
      params: [job.cursor, pageSize],
    },
    {
      withAttributes: rule ? [...ruleProperties(rule)] : [],
      memberOf: group.id,
    },
  );
  budget.charge(READ_PAGE_QUERIES);
  if (page.ids.length === 0) return finish(ctx, group, job, budget);
  // Only a security group's licenses are inherited: grantsOf holds no other.
  const grants = page.grantsOf.get(group.id) ?? [];
  const adds: AuditUser[] = [];
  const removes: AuditUser[] = [];
  const touched: typeof page.users = [];
  for (const user of page.users) {
    const matches = rule !== null && evaluateMembershipRule(rule, user.attributes!);
    const sourced = user.sources.some((s) => s.sourceId === group.id);
    if (matches && !user.member) {
      adds.push(user);
      user.grants.push(...grants);
    }
    if (!matches && user.member) {
      removes.push(user);
      user.grants = user.grants.filter((g) => g.groupId !== group.id);
    }
    if (matches || user.member || sourced) touched.push(user);
  }
  const next = page.ids[page.ids.length - 1]!;
  const decision = decidePage(ctx, tenant, { ...page, users: touched });
  const counts = grants.length > 0 ? groupCounts(decision, group.id) : { processed: 0, succeeded: 0, failed: 0 };
  try {
    await run(
      ctx,
      [
        ...membershipWrites(ctx, group, adds, removes),
        ...pageWrites(ctx, tenant, decision),
        ...cursorAdvance(ctx, job, next, { ...counts, processed: page.ids.length }),
      ],
      budget,
    );
  } catch (error) {
    if (isGuardFailure(error)) return "raced" as const;
    throw error;
  }
  return { ...job, cursor: next, processed: job.processed + page.ids.length };
}

/** Set-based membership changes with their audit rows (the system actor of dynamic membership). */
export function membershipWrites(
  ctx: Ctx,
  group: Pick<GroupRow, "id" | "displayName">,
  adds: readonly AuditUser[],
  removes: readonly AuditUser[],
) {
  const statements: D1PreparedStatement[] = [];
  if (adds.length) {
    statements.push(
      ctx.d1
        .prepare(
          `INSERT INTO group_members (tenant_id, group_id, user_id, added_at) SELECT ?1, ?2, value, ?3 FROM json_each(?4) WHERE true
           ON CONFLICT DO NOTHING`,
        )
        .bind(ctx.tenantId, group.id, ctx.now.toISOString(), JSON.stringify(adds.map((u) => u.id))),
    );
  }
  if (removes.length) {
    statements.push(
      ctx.d1
        .prepare(
          "DELETE FROM group_members WHERE tenant_id = ?1 AND group_id = ?2 AND user_id IN (SELECT value FROM json_each(?3))",
        )
        .bind(ctx.tenantId, group.id, JSON.stringify(removes.map((u) => u.id))),
    );
  }
  statements.push(
    ...memberChangeStatements(
      { ...ctx, actor: { kind: "system", name: "Microsoft Entra ID Dynamic Membership" } },
      group,
      [...adds.map((user) => ({ user, added: true })), ...removes.map((user) => ({ user, added: false }))],
    ),
  );
  return statements;
}

const freedSkus = (decision: PageDecision) =>
  [...decision.seatMoves].filter(([, m]) => m.freed > m.taken).map(([sku]) => sku);

/** Seats came free for SKUs members wait for: a healing job gives them out, oldest waiter first. */
async function healWaiting(ctx: Ctx, skuIds: string[]) {
  if (skuIds.length) await enqueue(ctx, [{ kind: "healSeats", tenantId: ctx.tenantId, skuIds }]);
}

/** Reconciles a list of users with the page machinery (membership changes, reprocess, seat healing). */
export async function reconcileUsers(
  ctx: Ctx,
  userIds: string[],
  budget: QueryBudget,
  tenant?: TenantLicensing,
  options: { healing?: boolean } = {},
) {
  const licensing = tenant ?? (await readTenantLicensing(ctx));
  for (let i = 0; i < userIds.length; i += budget.pageSize) {
    const ids = userIds.slice(i, i + budget.pageSize);
    for (let attempt = 0; ; attempt++) {
      const page = await readPage(ctx, { sql: "SELECT value AS id FROM json_each(?2)", params: [JSON.stringify(ids)] });
      budget.charge(READ_PAGE_QUERIES);
      const decision = decidePage(ctx, licensing, page);
      const writes = pageWrites(ctx, licensing, decision);
      if (writes.length === 0) break;
      const waiting = options.healing ? [] : seatWaiters(ctx, freedSkus(decision));
      try {
        const results = await run(ctx, [...writes, ...waiting], budget);
        if (waiting.length) await healWaiting(ctx, waitingSkus(results));
        break;
      } catch (error) {
        if (!isGuardFailure(error) || attempt >= PAGE_ATTEMPTS) throw error;
        await pause(Math.random() * 10 * (attempt + 1));
      }
    }
  }
}

/** Members waiting in CountViolation for these SKUs get the seats that came free, oldest first. */
export async function healSeats(ctx: Ctx, skuIds: string[], budget: QueryBudget) {
  const tenant = await readTenantLicensing(ctx);
  for (const skuId of skuIds) {
    while (budget.allows(40)) {
      // INDEXED BY: for the GROUP BY the planner would otherwise walk every source of the tenant in key order.
      const [pool] = await run(
        ctx,
        [
          ctx.d1
            .prepare(
              `SELECT (SELECT enabled_units - consumed_units FROM seat_pools WHERE tenant_id = ?1 AND sku_id = ?2) AS free,
                 (SELECT json_group_array(user_id) FROM (
                    SELECT user_id, min(last_updated_at) AS since FROM license_sources INDEXED BY license_sources_waiting
                    WHERE tenant_id = ?1 AND sku_id = ?2 AND error = 'CountViolation' AND source_id <> ?3
                    GROUP BY user_id ORDER BY since, user_id LIMIT ?4)) AS waiting`,
            )
            .bind(ctx.tenantId, skuId, DIRECT, budget.pageSize),
        ],
        budget,
      );
      const row = pool?.results[0] as { free: number | null; waiting: string } | undefined;
      const free = Number(row?.free ?? 0);
      const waiting = JSON.parse(row?.waiting ?? "[]") as string[];
      if (free <= 0 || waiting.length === 0) break;
      const before = waiting.length;
      await reconcileUsers(ctx, waiting.slice(0, free), budget, tenant, { healing: true });
      if (free >= before) break;
    }
  }
}
