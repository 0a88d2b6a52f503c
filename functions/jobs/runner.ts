/**
 * The paged-job engine: runs a job of any kind from its durable cursor, page by page, each page's writes and cursor
 * move in one guarded D1 batch (which also reads the next page), within a per-invocation query budget, paced against
 * interactive traffic, safe to run twice at once or after a crash. Job kinds supply readPage, decidePage, writePage.
 */
import type { Actor, Ctx } from "../core/context.ts";
import { isGuardFailure, PAGE_VALUE_BYTES } from "../core/sql.ts";
import { Pacer, QUIET_PAUSE_MS } from "./pacing.ts";
import {
  cursorAdvanceStatements,
  finishJobStatements,
  type JobCounts,
  type JobRow,
  readJob,
  startJobStatements,
  supersedeJobStatement,
} from "./store.ts";

/** Members per page when the isolate is quiet: one batch each (set-based statements, never one per member). */
export const PAGE_SIZE = 2000;
/** Production allows 1,000 D1 queries per invocation; stop well before, and continue in a new message. */
export const QUERY_BUDGET = 900;
/** Room kept for a page's batch (its writes, the cursor and the next page's read) before starting one. */
const PAGE_QUERIES = 40;
const PAGE_ATTEMPTS = 8;

/** Counts the statements an invocation sends to D1 (a batch of n statements is n queries). */
export class QueryBudget {
  used = 0;
  readonly limit: number;
  /** Members per page; tests shrink it to exercise many pages cheaply. */
  readonly pageSize: number;
  /** The most one value a page's writes bind may hold; tests shrink it too. */
  readonly valueBytes: number;
  /**
   * The membership-rule evaluation steps this invocation has taken (directory/membership-rule.ts counts them, and its
   * MAX_EVALUATION_STEPS bounds one evaluation): the invocation's work in the isolate, as `used` is its work in D1.
   */
  readonly ruleSteps = { steps: 0 };
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

/** Runs statements as one batch, charged to the budget. */
export async function runBatch(ctx: Ctx, statements: D1PreparedStatement[], budget: QueryBudget) {
  budget.charge(statements.length);
  return ctx.d1.batch(statements);
}

/** The time D1 spent running a batch's statements, as it reports it. */
const sqlMs = (results: readonly D1Result[]) => results.reduce((ms, r) => ms + (r.meta?.duration ?? 0), 0);

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A page's read: its statements, and how to read the page back from their results (the batch's last ones). */
export type PageRead<Page> = { statements: D1PreparedStatement[]; parse: (results: readonly D1Result[]) => Page };

/** One page's part of a job: its writes, where the cursor goes, what it counts, what follows the batch. */
export type PagePlan = {
  writes: D1PreparedStatement[];
  cursor: string;
  counts: JobCounts;
  /** Given the results of `writes`, after the batch landed. */
  afterWrite?: (results: D1Result[]) => Promise<void>;
};

/** What a kind of job is: who it acts as, what its pages share, how it reads, decides and writes a page. */
export interface JobKind<Shared, Page, Decision> {
  /** The system actor its writes are recorded under. */
  actor: Actor;
  /** What every page shares, read once per invocation; null when the job's subject is gone (the job then ends). */
  load(ctx: Ctx, job: JobRow, budget: QueryBudget): Promise<Shared | null>;
  /** Written with the move to Running. */
  onStart?(ctx: Ctx, job: JobRow, shared: Shared): D1PreparedStatement[];
  /** Written with the move to Complete (the job's counts are final). */
  onFinish?(ctx: Ctx, job: JobRow, shared: Shared): D1PreparedStatement[];
  /** The read of the page after `cursor` ('' before the first page). */
  readPage(ctx: Ctx, shared: Shared, cursor: string, pageSize: number): PageRead<Page>;
  /** Whether the page is past the end. */
  isEmpty(page: Page): boolean;
  /** Decides the page, or as much of it as one batch can write under `valueBytes`; rule work counts to `budget`. */
  decidePage(ctx: Ctx, shared: Shared, page: Page, valueBytes: number, budget: QueryBudget): Decision;
  /** The decision's writes, where the cursor goes, and its counts. */
  writePage(ctx: Ctx, shared: Shared, decision: Decision): PagePlan;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds kinds of every Shared/Page/Decision.
export type AnyJobKind = JobKind<any, any, any>;

export type JobOutcome = "done" | "continue" | "gone";

/**
 * Runs a paged job from its durable cursor until done or until this invocation's query budget is spent. Safe to run
 * twice for the same job at once or after a crash: every page's writes carry a guard on the cursor they started from,
 * so a page lands once; a lost race re-reads the job and carries on from where it stands.
 */
export async function runJob(
  baseCtx: Ctx,
  jobId: string,
  kinds: Readonly<Record<string, AnyJobKind>>,
  budget: QueryBudget,
): Promise<JobOutcome> {
  budget.charge(1);
  let job = await readJob(baseCtx, jobId);
  if (!job || job.state === "Complete" || job.state === "Superseded") return "gone";
  const kind = kinds[job.kind];
  if (!kind) throw new Error(`job ${job.id}: no job kind '${job.kind}'`);
  const ctx: Ctx = { ...baseCtx, actor: kind.actor };
  const shared = await kind.load(ctx, job, budget);
  if (shared === null) {
    await runBatch(ctx, [supersedeJobStatement(ctx, job.id)], budget);
    return "gone";
  }
  if (job.state === "Queued") {
    try {
      await runBatch(ctx, [...startJobStatements(ctx, job), ...(kind.onStart?.(ctx, job, shared) ?? [])], budget);
    } catch (error) {
      if (!isGuardFailure(error)) throw error;
    }
    budget.charge(1);
    job = await readJob(ctx, jobId);
    if (job?.state !== "Running") return "gone";
  }
  let attempts = 0;
  let current: JobRow = job;
  const pacer = new Pacer(budget.pageSize);
  // Read with the previous page's writes, in the same batch: one round trip a page instead of two.
  let prefetched: unknown;
  while (budget.allows(PAGE_QUERIES)) {
    const started = Date.now();
    // What the page itself costs, apart from the time it waits behind requests: its statements' time in D1, and its
    // own JavaScript where the clock shows it (locally; deployed, the clock stands still while code runs).
    let work = 0;
    let page = prefetched;
    prefetched = undefined;
    if (page === undefined) {
      const read = kind.readPage(ctx, shared, current.cursor, pacer.pageSize());
      const results = await runBatch(ctx, read.statements, budget);
      work += sqlMs(results);
      const parsing = Date.now();
      page = read.parse(results);
      work += Date.now() - parsing;
    }
    const planning = Date.now();
    const plan = kind.isEmpty(page)
      ? null
      : kind.writePage(ctx, shared, kind.decidePage(ctx, shared, page, budget.valueBytes, budget));
    const writes = plan
      ? [...plan.writes, ...cursorAdvanceStatements(ctx, current, plan.cursor, plan.counts)]
      : [...finishJobStatements(ctx, current), ...(kind.onFinish?.(ctx, current, shared) ?? [])];
    // Only when no pause follows (a pause would leave the page read stale) and the budget allows another page.
    const next = plan !== null && !pacer.busy ? kind.readPage(ctx, shared, plan.cursor, pacer.pageSize()) : undefined;
    const readNext = next && budget.allows(writes.length + next.statements.length + PAGE_QUERIES) ? next : undefined;
    work += Date.now() - planning;
    let results: D1Result[];
    try {
      results = await runBatch(ctx, [...writes, ...(readNext?.statements ?? [])], budget);
      work += sqlMs(results);
    } catch (error) {
      if (!isGuardFailure(error)) throw error;
      // Someone else moved the job (a redelivery, a newer job) or a member changed meanwhile: decide again, fresh.
      if (++attempts > PAGE_ATTEMPTS) throw new Error(`job ${current.id}: page kept losing races`);
      budget.charge(1);
      const reread = await readJob(ctx, jobId);
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
    const rest = pacer.pauseAfter(Date.now() - started, work);
    // Traffic began during the batch: a page read before a pause would be decided on stale seats, so read again (a
    // busy pause can be short, when the page already waited behind requests, but it is a pause all the same).
    if (readNext && rest <= QUIET_PAUSE_MS && !pacer.busy) prefetched = readNext.parse(results);
    await pause(rest);
  }
  return "continue";
}
