import { type AuditEntry, type AuditUser, auditStatements, memberChangeStatements } from "../audit/store.ts";
import { type Ctx, groupLicensingActor } from "../core/context.ts";
import { guardSql, isGuardFailure } from "../core/sql.ts";
import { findGroup, type GroupRow } from "../directory/group-store.ts";
import { evaluateMembershipRule, parseMembershipRule, ruleProperties } from "../directory/membership-rule.ts";
import { Pacer, QUIET_PAUSE_MS } from "../jobs/pacing.ts";
import { enqueue } from "../jobs/queue.ts";
import {
  decidePage,
  PAGE_VALUE_BYTES,
  type Page,
  type PageDecision,
  type PageOptions,
  type PageSelector,
  pageReadStatements,
  pageWrites,
  parsePage,
  READ_PAGE_QUERIES,
  readPage,
  readTenantLicensing,
  type TenantLicensing,
  usersThatFit,
} from "./bulk.ts";
import { DIRECT_SOURCE_SEQ, poolSeqOf } from "./seqs.ts";
import { seatWaiters, waitingSkus } from "./store.ts";

/**
 * Members per page: one batch each, a few set-based statements (never one per member) that also read the next page.
 * 2,000 rather than 1,000 took an eighth off a 100,000-member group job (bench, alternating both in one session);
 * D1's value limit, not this, bounds pages of members with much licensing (usersThatFit).
 */
export const PAGE_SIZE = 2000;
/** Production allows 1,000 D1 queries per invocation; stop well before, and continue in a new message. */
export const QUERY_BUDGET = 900;
const PAGE_ATTEMPTS = 8;

/** Counts the statements an invocation sends to D1 (a batch of n statements is n queries). */
export class QueryBudget {
  used = 0;
  readonly limit: number;
  /** Members per page; tests shrink it to exercise many pages cheaply. */
  readonly pageSize: number;
  /** The most one value a page's writes bind may hold (see usersThatFit); tests shrink it too. */
  readonly valueBytes: number;
  constructor(limit = QUERY_BUDGET, pageSize = PAGE_SIZE, valueBytes = PAGE_VALUE_BYTES) {
    this.limit = limit;
    this.pageSize = pageSize;
    this.valueBytes = valueBytes;
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
  const pages = job.kind === "groupLicense" ? groupLicensePages(group) : rulePages(group);
  let attempts = 0;
  let current: JobRow = job;
  const pacer = new Pacer(budget.pageSize);
  // Read with the previous page's writes, in the same batch: one round trip a page instead of two.
  let prefetched: Page | undefined;
  while (budget.allows(40)) {
    const started = Date.now();
    let page = prefetched;
    prefetched = undefined;
    if (!page) {
      page = await readPage(ctx, pages.selector(current.cursor, pacer.pageSize()), pages.options);
      budget.charge(READ_PAGE_QUERIES);
    }
    const plan = page.seqs.length === 0 ? null : pages.plan(ctx, tenant, page, budget.valueBytes);
    const writes = plan
      ? [...plan.writes, ...cursorAdvance(ctx, current, plan.cursor, plan.counts)]
      : finishStatements(ctx, group, current);
    // Only when no pause follows (a pause would leave the page read stale) and the budget allows another page.
    const readNext =
      plan !== null && !pacer.busy && budget.allows(writes.length + READ_PAGE_QUERIES + 40)
        ? pageReadStatements(ctx, pages.selector(plan.cursor, pacer.pageSize()), pages.options)
        : [];
    let results: D1Result[];
    try {
      results = await run(ctx, [...writes, ...readNext], budget);
    } catch (error) {
      if (!isGuardFailure(error)) throw error;
      // Someone else moved the job (a redelivery, a newer job) or a member changed meanwhile: decide again, fresh.
      if (++attempts > PAGE_ATTEMPTS) throw new Error(`job ${current.id}: page kept losing races`);
      const reread = await readJob(ctx, jobId, budget);
      if (reread?.state !== "Running") return "gone";
      current = reread;
      continue;
    }
    attempts = 0;
    if (!plan) return "done";
    await plan.afterWrite?.(results.slice(0, plan.writes.length));
    current = {
      ...current,
      cursor: plan.cursor,
      processed: current.processed + plan.counts.processed,
      succeeded: current.succeeded + plan.counts.succeeded,
      failed: current.failed + plan.counts.failed,
    };
    const rest = pacer.pauseAfter(Date.now() - started);
    // Traffic began during the batch: a page read before a long pause would be decided on stale seats, so read again.
    if (readNext.length > 0 && rest <= QUIET_PAUSE_MS) prefetched = parsePage(results, pages.options);
    await pause(rest);
  }
  return "continue";
}

type Counts = { processed: number; succeeded: number; failed: number };

/** One page's part of a job: its writes, where the cursor goes, what it counts, what follows the batch. */
type PagePlan = {
  writes: D1PreparedStatement[];
  cursor: string;
  counts: Counts;
  /** Given the results of `writes`, after the batch landed. */
  afterWrite?: (results: D1Result[]) => Promise<void>;
};

/** What a kind of job pages over, and how it decides one page. */
type JobPages = {
  /** SQL for the user seqs after the cursor (a seq; '' before the first page). */
  selector: (cursor: string, pageSize: number) => PageSelector;
  options: PageOptions;
  /** Decides the page, or as much of it as one batch can write (the cursor then stops at its last user). */
  plan: (ctx: Ctx, tenant: TenantLicensing, page: Page, valueBytes: number) => PagePlan;
};

function cursorAdvance(ctx: Ctx, job: JobRow, next: string, counts: Counts) {
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

function finishStatements(ctx: Ctx, group: GroupRow, job: JobRow) {
  return [
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
}

function groupCounts(decision: PageDecision, groupId: string): Counts {
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
 * The page's users one batch can write, the ones left for another, and where a job's cursor stops: the page's end,
 * or its last fitted user.
 */
function fitted(page: Pick<Page, "seqs" | "users">, valueBytes: number) {
  const count = usersThatFit(page.users, valueBytes);
  if (count === page.users.length) return { users: page.users, rest: [], cursor: page.seqs.at(-1)! };
  const users = page.users.slice(0, count);
  return { users, rest: page.users.slice(count), cursor: users.at(-1)!.seq };
}

const afterCursor = (cursor: string) => Number(cursor || 0);

/** A group's licenses applied to its members, page by page of members. */
const groupLicensePages = (group: GroupRow): JobPages => ({
  selector: (cursor, pageSize) => ({
    sql: "SELECT user_seq AS seq FROM group_members WHERE group_seq = ?2 AND user_seq > ?3 ORDER BY user_seq LIMIT ?4",
    params: [group.seq, afterCursor(cursor), pageSize],
  }),
  options: {},
  plan(ctx, tenant, page, valueBytes) {
    const fit = fitted(page, valueBytes);
    const decision = decidePage(ctx, tenant, { ...page, users: fit.users });
    const waiting = seatWaiters(ctx, freedSkus(decision));
    return {
      writes: [...pageWrites(ctx, tenant, decision), ...waiting],
      cursor: String(fit.cursor),
      counts: groupCounts(decision, group.id),
      afterWrite: waiting.length ? (results) => healWaiting(ctx, waitingSkus(results)) : undefined,
    };
  },
});

/**
 * A dynamic rule evaluated over all the tenant's users, page by page: membership follows the rule, and the page's
 * affected users are reconciled in the batch that moves the cursor. One read brings the users' attributes, whether
 * they are members, and their licensing; their licenses are decided on the membership this page is about to write.
 */
function rulePages(group: GroupRow): JobPages {
  const rule = group.membershipRule ? parseMembershipRule(group.membershipRule) : null;
  return {
    selector: (cursor, pageSize) => ({
      sql: "SELECT seq FROM users WHERE tenant_id = ?1 AND deleted_at IS NULL AND seq > ?2 ORDER BY seq LIMIT ?3",
      params: [afterCursor(cursor), pageSize],
    }),
    options: { withAttributes: rule ? [...ruleProperties(rule)] : [], memberOf: group.seq },
    plan(ctx, tenant, page, valueBytes) {
      // Only a security group's licenses are inherited: grantsOf holds no other.
      const grants = page.grantsOf.get(group.id) ?? [];
      const adds: MemberUser[] = [];
      const removes: MemberUser[] = [];
      const touched: typeof page.users = [];
      // Decided on the membership the page is about to write, so grants are settled before the page is fitted.
      const matching = page.users.map((user) => rule !== null && evaluateMembershipRule(rule, user.attributes!));
      for (const [i, user] of page.users.entries()) {
        if (matching[i] && !user.member) user.grants.push(...grants);
        if (!matching[i] && user.member) user.grants = user.grants.filter((g) => g.groupId !== group.id);
      }
      const fit = fitted(page, valueBytes);
      for (const [i, user] of fit.users.entries()) {
        const matches = matching[i]!;
        const sourced = user.sources.some((s) => s.sourceId === group.id);
        if (matches && !user.member) adds.push(user);
        if (!matches && user.member) removes.push(user);
        if (matches || user.member || sourced) touched.push(user);
      }
      const decision = decidePage(ctx, tenant, { ...page, users: touched });
      const counts = grants.length > 0 ? groupCounts(decision, group.id) : { processed: 0, succeeded: 0, failed: 0 };
      return {
        writes: [...membershipWrites(ctx, group, adds, removes), ...pageWrites(ctx, tenant, decision)],
        cursor: String(fit.cursor),
        // Every user of the tenant was looked at; only the group's members count as assigned or failed.
        counts: { ...counts, processed: page.seqs.indexOf(fit.cursor) + 1 },
      };
    },
  };
}

type MemberUser = AuditUser & { seq: number };

/** Set-based membership changes with their audit rows (the system actor of dynamic membership). */
export function membershipWrites(
  ctx: Ctx,
  group: Pick<GroupRow, "seq" | "id" | "displayName">,
  adds: readonly MemberUser[],
  removes: readonly MemberUser[],
) {
  const statements: D1PreparedStatement[] = [];
  if (adds.length) {
    statements.push(
      ctx.d1
        .prepare(
          `INSERT INTO group_members (group_seq, user_seq, added_at) SELECT ?1, value, ?2 FROM json_each(?3) WHERE true
           ON CONFLICT DO NOTHING`,
        )
        .bind(group.seq, ctx.now.toISOString(), JSON.stringify(adds.map((u) => u.seq))),
    );
  }
  if (removes.length) {
    statements.push(
      ctx.d1
        .prepare("DELETE FROM group_members WHERE group_seq = ?1 AND user_seq IN (SELECT value FROM json_each(?2))")
        .bind(group.seq, JSON.stringify(removes.map((u) => u.seq))),
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
  let pending = userIds;
  while (pending.length > 0) {
    // Users with more licensing than one batch can bind go round again, first in line.
    const unfitted = await reconcilePage(ctx, pending.slice(0, budget.pageSize), budget, licensing, options);
    pending = [...unfitted, ...pending.slice(budget.pageSize)];
  }
}

/** Reconciles as many of `ids` as one batch can write; returns the ids left for another. */
async function reconcilePage(
  ctx: Ctx,
  ids: string[],
  budget: QueryBudget,
  licensing: TenantLicensing,
  options: { healing?: boolean },
): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const page = await readPage(ctx, {
      sql: "SELECT u.seq FROM json_each(?2) AS j CROSS JOIN users AS u ON u.id = j.value WHERE u.tenant_id = ?1",
      params: [JSON.stringify(ids)],
    });
    budget.charge(READ_PAGE_QUERIES);
    const fit = fitted(page, budget.valueBytes);
    const unfitted = fit.rest.map((u) => u.id);
    const decision = decidePage(ctx, licensing, { ...page, users: fit.users });
    const writes = pageWrites(ctx, licensing, decision);
    if (writes.length === 0) return unfitted;
    const waiting = options.healing ? [] : seatWaiters(ctx, freedSkus(decision));
    try {
      const results = await run(ctx, [...writes, ...waiting], budget);
      if (waiting.length) await healWaiting(ctx, waitingSkus(results));
      return unfitted;
    } catch (error) {
      if (!isGuardFailure(error) || attempt >= PAGE_ATTEMPTS) throw error;
      await pause(Math.random() * 10 * (attempt + 1));
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
                 (SELECT json_group_array((SELECT id FROM users WHERE seq = user_seq)) FROM (
                    SELECT user_seq, min(last_updated_at) AS since FROM license_sources INDEXED BY license_sources_waiting
                    WHERE pool_seq = ${poolSeqOf("?1", "?2")} AND error = 'CountViolation' AND source_seq <> ?3
                    GROUP BY user_seq ORDER BY since, user_seq LIMIT ?4)) AS waiting`,
            )
            .bind(ctx.tenantId, skuId, DIRECT_SOURCE_SEQ, budget.pageSize),
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
