/**
 * Pure rules for pages of users: how many users one batch can write within D1's value limit, and deciding a whole
 * page with the licensing rules, each distinct case once. No I/O, no clock: the page's time is passed in.
 */
import { PAGE_VALUE_BYTES } from "../core/sql.ts";
import { currentIntents } from "./direct-rules.ts";
import type { Page, PageUser, TenantLicensing } from "./page-store.ts";
import { type ReconcileResult, reconcileUser } from "./rules.ts";

/** Upper bounds, in bytes, of what one user adds to any list a page's writes bind (see usersThatFit). */
const BYTES_PER_USER = 50;
const BYTES_PER_ITEM = 160;
const BYTES_PER_DISABLED_PLAN = 48;
// JSON may escape a character in a name as \uXXXX.
const BYTES_PER_NAME_CHAR = 6;

const itemBytes = (items: Iterable<{ disabledPlans: readonly string[] }>) => {
  let bytes = 0;
  for (const item of items) bytes += BYTES_PER_ITEM + BYTES_PER_DISABLED_PLAN * item.disabledPlans.length;
  return bytes;
};

/**
 * How many of `users`, from the first, one batch can write (at least one). Every licensing list a write binds holds,
 * per user, at most their sources, grants and held licenses (a fingerprint or description of each); the audit lists
 * hold their names; each licensing consequence's lists `consequenceBytes` a user. Every sum must stay within `limit`.
 */
export function usersThatFit(users: readonly PageUser[], limit = PAGE_VALUE_BYTES, consequenceBytes = 0): number {
  let licensing = 0;
  let names = 0;
  let consequences = 0;
  for (let i = 0; i < users.length; i++) {
    const user = users[i]!;
    licensing += BYTES_PER_USER + itemBytes(user.sources) + itemBytes(user.grants) + itemBytes(user.held.values());
    names += BYTES_PER_USER + BYTES_PER_NAME_CHAR * (user.displayName.length + user.userPrincipalName.length);
    // What the licensing consequences (licensing/consequences.ts: mailboxes, OneDrives) bind per user, in their lists.
    consequences += consequenceBytes;
    if (i > 0 && (licensing > limit || names > limit || consequences > limit)) return i;
  }
  return users.length;
}

/**
 * The page's users one batch can write, the ones left for another, and where a job's cursor stops: the page's end,
 * or its last fitted user.
 */
export function fitted(page: Pick<Page, "seqs" | "users">, valueBytes: number, consequenceBytes = 0) {
  const count = usersThatFit(page.users, valueBytes, consequenceBytes);
  if (count === page.users.length) return { users: page.users, rest: [], cursor: page.seqs.at(-1)! };
  const users = page.users.slice(0, count);
  return { users, rest: page.users.slice(count), cursor: users.at(-1)!.seq };
}

const sourceKey = (s: {
  skuId: string;
  sourceId: string;
  state: string;
  error: string;
  lastUpdatedAt: string;
  disabledPlans: string[];
}) => `${s.skuId}|${s.sourceId}|${s.state}|${s.error}|${s.lastUpdatedAt}|${[...s.disabledPlans].sort().join(",")}`;

function unchanged(user: PageUser, result: ReconcileResult): boolean {
  if (result.seatsTaken.length > 0 || result.seatsFreed.length > 0) return false;
  if (user.sources.length !== result.sources.length || user.held.size !== result.licenses.size) return false;
  const before = new Set(user.sources.map(sourceKey));
  if (!result.sources.every((s) => before.has(sourceKey(s)))) return false;
  for (const [skuId, license] of result.licenses) {
    const held = user.held.get(skuId);
    if (!held || [...held.disabledPlans].sort().join() !== [...license.disabledPlans].sort().join()) return false;
  }
  return true;
}

export type PageDecision = {
  changed: { user: PageUser; result: ReconcileResult }[];
  /** Per SKU: seats newly taken and freed by the page. */
  seatMoves: Map<string, { taken: number; freed: number }>;
  outcomes: { userId: string; result: ReconcileResult }[];
};

/**
 * Everything reconcileUser reads of a page's user, as one string; the tenant's rules, catalogue and clock are the
 * page's. A user takes at most one seat of a SKU, so the rules only ask whether a seat is left, counting the one a
 * license the user gives up frees: seats count as below 0, 0, or some. Users of a job page mostly share their key
 * (same sources, grants and licenses), and the rules are pure.
 */
function decisionKey(user: PageUser, available: ReadonlyMap<string, number>): string {
  let key = String(user.usageLocation);
  const seat = (skuId: string) => Math.max(-1, Math.min(1, available.get(skuId) ?? 0));
  for (const s of user.sources) {
    key += `\u0001${s.skuId}|${s.sourceId}|${s.state}|${s.error}|${s.lastUpdatedAt}|${s.disabledPlans.join(",")}|${seat(s.skuId)}`;
  }
  key += "\u0002";
  for (const g of user.grants) key += `\u0001${g.groupId}|${g.skuId}|${g.disabledPlans.join(",")}|${seat(g.skuId)}`;
  key += "\u0002";
  for (const [skuId, held] of user.held) {
    key += `\u0001${skuId}|${held.assignedAt}|${held.disabledPlans.join(",")}|${seat(skuId)}`;
  }
  return key;
}

/**
 * Decides a whole page in memory with the same pure rules as a single user, sharing the seat pools in order. Users
 * with the same decisionKey get the same result (shared, never mutated): a page of 2,000 members is mostly a handful
 * of distinct cases, and deciding each user afresh was nearly half of planning a page.
 */
export function decidePage(
  now: string,
  tenant: TenantLicensing,
  page: { users: readonly PageUser[]; pools: ReadonlyMap<string, { enabled: number; consumed: number }> },
): PageDecision {
  const available = new Map([...page.pools].map(([skuId, pool]) => [skuId, pool.enabled - pool.consumed]));
  const seatMoves = new Map<string, { taken: number; freed: number }>();
  const changed: PageDecision["changed"] = [];
  const outcomes: PageDecision["outcomes"] = [];
  const decided = new Map<string, { result: ReconcileResult; same: boolean }>();
  for (const user of page.users) {
    const key = decisionKey(user, available);
    let decision = decided.get(key);
    if (!decision) {
      const result = reconcileUser({
        usageLocation: user.usageLocation,
        tenantCountry: tenant.country,
        intents: currentIntents(user),
        held: user.held,
        seatsAvailable: available,
        skuPlans: tenant.skuPlans,
        rules: tenant.rules,
        now,
      });
      decision = { result, same: unchanged(user, result) };
      decided.set(key, decision);
    }
    const { result } = decision;
    outcomes.push({ userId: user.id, result });
    if (decision.same) continue;
    changed.push({ user, result });
    for (const sku of result.seatsTaken) {
      available.set(sku, (available.get(sku) ?? 0) - 1);
      const move = seatMoves.get(sku) ?? { taken: 0, freed: 0 };
      move.taken++;
      seatMoves.set(sku, move);
    }
    for (const sku of result.seatsFreed) {
      available.set(sku, (available.get(sku) ?? 0) + 1);
      const move = seatMoves.get(sku) ?? { taken: 0, freed: 0 };
      move.freed++;
      seatMoves.set(sku, move);
    }
  }
  return { changed, seatMoves, outcomes };
}
