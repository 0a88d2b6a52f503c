/**
 * Reconciling lists of users with the page machinery: the users a membership change, a reprocess or an attribute
 * change touches, and the members waiting for seats that came free (seat healing, oldest first).
 */
import type { Ctx } from "../core/context.ts";
import { isGuardFailure } from "../core/sql.ts";
import { healSeatsIfWaiting, sendFollowUps, written } from "../jobs/outbox.ts";
import { pause, type QueryBudget, runBatch } from "../jobs/runner.ts";
import { consequenceBytesPerUser } from "./consequences.ts";
import { decidePage, fitted, type PageDecision } from "./page-rules.ts";
import {
  pageWrites,
  READ_PAGE_QUERIES,
  readPage,
  readTenantLicensing,
  seatWaitersPage,
  type TenantLicensing,
  usersByIdSelector,
} from "./page-store.ts";

const PAGE_ATTEMPTS = 8;

/** The SKUs a page gave back more seats of than it took. */
export const freedSkus = (decision: PageDecision) =>
  [...decision.seatMoves].filter(([, m]) => m.freed > m.taken).map(([sku]) => sku);

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
    const page = await readPage(ctx, usersByIdSelector(ids));
    budget.charge(READ_PAGE_QUERIES);
    const fit = fitted(page, budget.valueBytes, consequenceBytesPerUser());
    const unfitted = fit.rest.map((u) => u.id);
    const decision = decidePage(ctx.now.toISOString(), licensing, { ...page, users: fit.users });
    const writes = pageWrites(ctx, licensing, decision);
    if (writes.length === 0) return unfitted;
    // Seats the page frees may be owed to waiting members (not while healing gives seats out: it reads the waiters).
    const heal = options.healing ? null : healSeatsIfWaiting(ctx, freedSkus(decision));
    try {
      const results = await runBatch(ctx, [...writes, ...(heal?.statements ?? [])], budget);
      if (heal && written(results.at(-1))) await sendFollowUps(ctx, [heal.id]);
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
      budget.charge(1);
      const { free, waiting } = await seatWaitersPage(ctx, skuId, budget.pageSize);
      if (free <= 0 || waiting.length === 0) break;
      const before = waiting.length;
      await reconcileUsers(ctx, waiting.slice(0, free), budget, tenant, { healing: true });
      if (free >= before) break;
    }
  }
}
