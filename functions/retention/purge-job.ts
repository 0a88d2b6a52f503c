/**
 * The purge as a kind of the shared job engine (jobs/runner.ts). One run per tenant walks three phases in keyset
 * pages, its cursor durable in the job's row: mailboxes past their window (`m:<seq>`, or `m:<seq>:<item>` inside a
 * mailbox bigger than a page), retained OneDrives past their date (`o:<seq>`), users 30 days in the recycle bin
 * (`u:<seq>`). Every page decides with the run's own clock (`asOf`, kept in the run's ledger row: the cron's
 * scheduledTime, or the request's time), so a run resumed after a crash, or redelivered, decides as it first would
 * have; a page's writes land with its cursor move or not at all, and re-check what is still due, so a second run at the
 * same clock finds nothing to do.
 */
import { type Ctx, schedulerActor } from "../core/context.ts";
import type { JobKind, PagePlan } from "../jobs/runner.ts";
import {
  type DueMailbox,
  dueDeletedUsersStatement,
  dueMailboxesStatement,
  dueOneDrivesStatement,
  finishRunStatements,
  heldSummaryStatement,
  type PurgeUnit,
  purgeMailboxPageStatements,
  purgeOneDrivePageStatements,
  purgeUsersPageStatements,
  readRun,
  toDueMailboxes,
} from "./purge-store.ts";
import { permanentDeletionCutoff } from "./rules.ts";

export const PURGE_JOB_KIND = "retentionPurge";

/** Items a page deletes at most (whole mailboxes up to it, plus the one that passes it), at full pace. */
export const ITEMS_PER_PAGE = 5000;
/** Mailboxes, OneDrives or users per page at most. */
const ROWS_PER_PAGE = 1000;

type Run = { id: string; asOf: string; dryRun: boolean };
type Shared = { run: Run; deletedBy: string };

type Phase = "m" | "o" | "u";
type Cursor = { phase: Phase; seq: number; item: number | null };

export function parseCursor(cursor: string): Cursor {
  if (cursor === "") return { phase: "m", seq: 0, item: null };
  const [phase, seq, item] = cursor.split(":");
  return { phase: phase as Phase, seq: Number(seq), item: item === undefined ? null : Number(item) };
}

type Page = { phase: "m"; cursor: Cursor; due: DueMailbox[] } | { phase: "o" | "u"; cursor: Cursor; seqs: number[] };

type Decision = { writes: D1PreparedStatement[]; cursor: string; done: number };

/** The run's writes carry its clock: rows it purges, users it deletes and audit entries are dated `asOf`. */
const runCtx = (ctx: Ctx, run: Run): Ctx => ({ ...ctx, now: new Date(run.asOf) });

/** The units of a page of due mailboxes: whole mailboxes, or one part of a mailbox bigger than a page. */
export function pageUnits(due: readonly DueMailbox[], cursor: Cursor): { units: PurgeUnit[]; cursor: string } {
  const first = due[0]!;
  const floor = cursor.item !== null && first.seq === cursor.seq ? cursor.item : 0;
  if (first.boundary !== null) {
    return { units: [{ seq: first.seq, lo: floor, hi: first.boundary }], cursor: `m:${first.seq}:${first.boundary}` };
  }
  const units: PurgeUnit[] = [];
  for (const mailbox of due) {
    // A big mailbox after others starts a page of its own.
    if (mailbox.boundary !== null) break;
    units.push({ seq: mailbox.seq, lo: mailbox.seq === first.seq ? floor : 0, hi: null });
  }
  return { units, cursor: `m:${units.at(-1)!.seq}` };
}

export const purgeJob: JobKind<Shared, Page, Decision> = {
  actor: schedulerActor,
  async load(ctx, job, budget) {
    budget.charge(1);
    const run = await readRun(ctx, job.id);
    if (!run) return null;
    return { run: { id: run.id, asOf: run.asOf, dryRun: run.dryRun }, deletedBy: permanentDeletionCutoff(run.asOf) };
  },
  onStart: (ctx, job, { run }) => [heldSummaryStatement(ctx, job.id, run.asOf)],
  onFinish: (ctx, job, { run }) => finishRunStatements(runCtx(ctx, run), job.id),
  readPage(ctx, { run, deletedBy }, raw, pageSize) {
    const cursor = parseCursor(raw);
    const rows = Math.min(ROWS_PER_PAGE, pageSize);
    if (cursor.phase === "m") {
      const start = cursor.item !== null ? cursor.seq : cursor.seq + 1;
      const statement = dueMailboxesStatement(
        ctx,
        run.asOf,
        start,
        cursor.item ?? 0,
        rows,
        Math.min(ITEMS_PER_PAGE, pageSize * 3),
      );
      return {
        statements: [statement],
        parse: (results) => ({ phase: "m", cursor, due: toDueMailboxes(results.at(-1)) }),
      };
    }
    const statement =
      cursor.phase === "o"
        ? dueOneDrivesStatement(ctx, run.asOf, cursor.seq, rows)
        : dueDeletedUsersStatement(ctx, deletedBy, cursor.seq, rows);
    return {
      statements: [statement],
      parse: (results) => ({
        phase: cursor.phase as "o" | "u",
        cursor,
        seqs: ((results.at(-1)?.results ?? []) as { seq: number }[]).map((r) => Number(r.seq)),
      }),
    };
  },
  isEmpty: (page) => page.phase === "u" && page.seqs.length === 0,
  decidePage(ctx, { run, deletedBy }, page) {
    const at = runCtx(ctx, run);
    if (page.phase === "m") {
      // Past the last due mailbox: on to the OneDrives.
      if (page.due.length === 0) return { writes: [], cursor: "o:0", done: 0 };
      const { units, cursor } = pageUnits(page.due, page.cursor);
      return {
        writes: purgeMailboxPageStatements(at, run, units),
        cursor,
        done: units.filter((u) => u.hi === null).length,
      };
    }
    if (page.phase === "o" && page.seqs.length === 0) return { writes: [], cursor: "u:0", done: 0 };
    const last = page.seqs.at(-1)!;
    return page.phase === "o"
      ? { writes: purgeOneDrivePageStatements(at, run, page.seqs), cursor: `o:${last}`, done: page.seqs.length }
      : {
          writes: purgeUsersPageStatements(at, run, page.seqs, deletedBy),
          cursor: `u:${last}`,
          done: page.seqs.length,
        };
  },
  writePage: (_ctx, _shared, decision): PagePlan => ({
    writes: decision.writes,
    cursor: decision.cursor,
    counts: { processed: decision.done, succeeded: decision.done, failed: 0 },
  }),
};
