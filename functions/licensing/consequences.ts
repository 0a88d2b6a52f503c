/**
 * The consequences of a licensing change: what other capabilities must write when a user's licenses change, in the
 * same batch as the change. Licensing knows nothing of them (retention's mailboxes and OneDrives register here, at the
 * top of the layers); both write paths — one user (`userLicensingWrites`) and a page of up to 2,000 users
 * (`pageWrites`) — hand every registered contributor the users whose licensing moved, and append its statements.
 *
 * A contributor must be set-based (a handful of statements for a whole page, the users as JSON lists in one
 * parameter) and must bind at most `bytesPerUser` bytes per user in any one value: usersThatFit counts it with
 * licensing's own lists, so no page binds a value D1 refuses.
 */
import type { PlanRef } from "../catalog/store.ts";
import type { Ctx } from "../core/context.ts";

/** A license as it delivers its plans: its SKU and the plans disabled on it (ids). */
export type DeliveredLicense = { skuId: string; disabledPlans: readonly string[] };

/** One user's side of a licensing change. */
export type LicensingConsequence = {
  userSeq: number;
  /**
   * The licenses that delivered their plans before and after the change: the licenses held, less those of SKUs the
   * tenant's subscriptions no longer deliver (every subscription Deleted or LockedOut).
   */
  before: readonly DeliveredLicense[];
  after: readonly DeliveredLicense[];
  /** The user is deleted (in the recycle bin) before and after: a deletion is false → true, a restore the reverse. */
  deletedBefore: boolean;
  deletedAfter: boolean;
};

/** The plans of a SKU, as the catalogue names them (null for a SKU the catalogue does not hold). */
export type PlansOf = (skuId: string) => readonly PlanRef[] | undefined;

export type ConsequenceContributor = {
  /** For logs and tests. */
  name: string;
  /** The most this contributor binds per user in one value, in bytes. */
  bytesPerUser: number;
  /** The statements for these users' changes, for the change's own batch (none when nothing follows). */
  writes(ctx: Ctx, changes: readonly LicensingConsequence[], plansOf: PlansOf): D1PreparedStatement[];
};

const contributors = new Map<string, ConsequenceContributor>();

/** Registers a contributor (once per name: the root files import its module for the effect, however often). */
export function registerConsequence(contributor: ConsequenceContributor) {
  contributors.set(contributor.name, contributor);
}

/** The names registered, for tests that must know retention's contributor is in place. */
export const registeredConsequences = () => [...contributors.keys()];

/** Every contributor's statements for these changes, in registration order. */
export function consequenceWrites(
  ctx: Ctx,
  changes: readonly LicensingConsequence[],
  plansOf: PlansOf,
): D1PreparedStatement[] {
  if (changes.length === 0) return [];
  return [...contributors.values()].flatMap((c) => c.writes(ctx, changes, plansOf));
}

/** What the contributors bind per user at most (usersThatFit adds it to every user). */
export const consequenceBytesPerUser = () => Math.max(0, ...[...contributors.values()].map((c) => c.bytesPerUser));

/** The licenses among `held` whose SKU still delivers. */
export function deliveredLicenses(
  held: ReadonlyMap<string, { disabledPlans: readonly string[] }>,
  delivers: (skuId: string) => boolean,
): DeliveredLicense[] {
  const out: DeliveredLicense[] = [];
  for (const [skuId, license] of held) if (delivers(skuId)) out.push({ skuId, disabledPlans: license.disabledPlans });
  return out;
}
