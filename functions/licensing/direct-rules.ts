/** Pure rules of direct assignment: what an assignLicense request asks, refused as Graph refuses it before any rule. */
import type { SkuPlans } from "../catalog/store.ts";
import type { Role } from "../core/context.ts";
import { forbidden, invalid, LicensingRefused } from "../core/errors.ts";
import { DIRECT, type SourceIntent, type SourceOutcome } from "./rules.ts";
import type { GroupGrant, SkuHolding, SourceRow } from "./store.ts";

export type AssignLicenseRequest = {
  addLicenses: { skuId: string; disabledPlans: string[] }[];
  removeLicenses: string[];
};

export const directMessages = {
  invalidSku: (skuId: string) => `License ${skuId} does not correspond to a valid company License.`,
  selfService: (skuId: string) =>
    `License ${skuId} is only held through a self-service purchase. An admin can't assign or unassign licenses for a self-service purchase subscription until the subscription is taken over.`,
  inherited: "User license is inherited from a group membership and it cannot be removed directly from the user.",
  notAssigned: "User does not have a corresponding license.",
  planNotInSku: (planId: string, skuId: string) => `Service plan ${planId} is not included in license ${skuId}.`,
  duplicate: (skuId: string) => `License ${skuId} is listed more than once in addLicenses.`,
  addAndRemove: (skuId: string) => `License ${skuId} cannot be both added and removed in the same request.`,
  guest: "Only a Global Administrator can assign licenses to a guest user.",
};

type Snapshot = {
  sources: readonly SourceRow[];
  grants: readonly GroupGrant[];
  holdings: ReadonlyMap<string, SkuHolding>;
  skus: ReadonlyMap<string, SkuPlans>;
  user: { userType: string };
};

const previousOf = (row: SourceRow): SourceIntent["previous"] => ({
  state: row.state,
  error: row.error,
  disabledPlans: row.disabledPlans,
  lastUpdatedAt: row.lastUpdatedAt,
});

/**
 * What the user should receive now: the direct sources on record, plus one source per (group, sku) of every licensed
 * group the user is a direct member of. A group source whose membership or grant is gone simply drops out.
 */
export function currentIntents(snapshot: Pick<Snapshot, "sources" | "grants">): SourceIntent[] {
  const previous = new Map(snapshot.sources.map((row) => [`${row.sourceId}|${row.skuId}`, previousOf(row)]));
  const direct = snapshot.sources
    .filter((row) => row.sourceId === DIRECT)
    .map((row) => ({
      skuId: row.skuId,
      sourceId: DIRECT,
      disabledPlans: row.disabledPlans,
      previous: previousOf(row),
    }));
  const inherited = snapshot.grants.map((grant) => {
    const before = previous.get(`${grant.groupId}|${grant.skuId}`);
    return {
      skuId: grant.skuId,
      sourceId: grant.groupId,
      disabledPlans: grant.disabledPlans,
      ...(before ? { previous: before } : {}),
    };
  });
  return [...direct, ...inherited];
}

/** What the tenant holds of the SKUs a change names: enough to judge rule 1 for users and groups alike. */
export type Holdings = Pick<Snapshot, "holdings" | "skus">;

function checkHeldByTenant(snapshot: Holdings, skuId: string) {
  const holding = snapshot.holdings.get(skuId);
  if (!snapshot.skus.has(skuId) || !holding || holding.companySubscriptions + holding.selfServiceSubscriptions === 0) {
    throw invalid(directMessages.invalidSku(skuId), { reason: "invalidSku" });
  }
  if (holding.companySubscriptions === 0) throw invalid(directMessages.selfService(skuId), { reason: "selfService" });
}

/**
 * Rule 1 for a SKU to be given (directly or by a group): the tenant holds it through a company subscription, and the
 * plans to disable are the SKU's own.
 */
export function checkGrantable(snapshot: Holdings, add: { skuId: string; disabledPlans: readonly string[] }) {
  checkHeldByTenant(snapshot, add.skuId);
  const plans = new Set(snapshot.skus.get(add.skuId)!.servicePlans.map((p) => p.id));
  const unknown = add.disabledPlans.find((p) => !plans.has(p));
  if (unknown) throw invalid(directMessages.planNotInSku(unknown, add.skuId), { reason: "planNotInSku" });
}

/** A SKU appears at most once, and never in both lists: the same for users and groups. */
export function checkRequestShape(request: AssignLicenseRequest) {
  const seen = new Set<string>();
  for (const add of request.addLicenses) {
    if (seen.has(add.skuId)) throw invalid(directMessages.duplicate(add.skuId));
    seen.add(add.skuId);
  }
  for (const skuId of request.removeLicenses) {
    if (seen.has(skuId)) throw invalid(directMessages.addAndRemove(skuId));
  }
}

/**
 * Turns an assignLicense request into the user's complete set of source intents, refusing what Graph refuses before
 * any rule is weighed. Pure: the caller supplies the snapshot it read.
 */
export function planDirectChange(
  snapshot: Snapshot,
  request: AssignLicenseRequest,
  role: Role | "system",
): SourceIntent[] {
  checkRequestShape(request);
  if (snapshot.user.userType === "Guest" && request.addLicenses.length > 0 && role !== "GlobalAdministrator") {
    throw forbidden(directMessages.guest, "guestNeedsGlobalAdministrator");
  }
  for (const add of request.addLicenses) checkGrantable(snapshot, add);
  for (const skuId of request.removeLicenses) {
    if (snapshot.sources.some((s) => s.skuId === skuId && s.sourceId === DIRECT)) continue;
    if (snapshot.grants.some((g) => g.skuId === skuId))
      throw invalid(directMessages.inherited, { reason: "inherited" });
    checkHeldByTenant(snapshot, skuId);
    throw invalid(directMessages.notAssigned, { reason: "notAssigned" });
  }

  const replaced = new Set([...request.removeLicenses, ...request.addLicenses.map((a) => a.skuId)]);
  const kept = currentIntents(snapshot).filter((i) => !(i.sourceId === DIRECT && replaced.has(i.skuId)));
  const added = request.addLicenses.map((add) => {
    const existing = snapshot.sources.find((s) => s.sourceId === DIRECT && s.skuId === add.skuId);
    return {
      skuId: add.skuId,
      sourceId: DIRECT,
      // disabledPlans on a re-assign replaces the previous list (rule 4); order follows the catalogue.
      disabledPlans: [...new Set(add.disabledPlans)],
      ...(existing ? { previous: previousOf(existing) } : {}),
    };
  });
  return [...kept, ...added];
}

/**
 * The first direct source this call breaks: one it added or changed, or one that was fine before and is not now
 * (a removed SKU that carried another's prerequisite). Errors that predate the call don't block it.
 */
export function firstDirectViolation(
  outcomes: readonly SourceOutcome[],
  before: readonly SourceRow[],
  request: AssignLicenseRequest,
) {
  const touched = new Set(request.addLicenses.map((a) => a.skuId));
  const failedBefore = new Set(before.filter((s) => s.sourceId === DIRECT && s.state === "Error").map((s) => s.skuId));
  const broken = outcomes.find(
    (o) => o.sourceId === DIRECT && o.state === "Error" && (touched.has(o.skuId) || !failedBefore.has(o.skuId)),
  );
  return (
    broken?.violation && new LicensingRefused(broken.violation.error, broken.violation.message, { skuId: broken.skuId })
  );
}
