/** The subscriptions capability's presenters: Graph's companySubscription and subscribedSku. */
import type { SkuPlans } from "../catalog/store.ts";
import { graphTime } from "../core/time.ts";
import { capabilityStatus, prepaidUnits } from "./rules.ts";
import type { OverallocationAlert, SubscriptionRow } from "./store.ts";

const servicePlanInfo = (sku: SkuPlans | undefined) =>
  (sku?.servicePlans ?? []).map((p) => ({
    servicePlanId: p.id,
    servicePlanName: p.name,
    provisioningStatus: "Success",
    appliesTo: "User",
  }));

/** Graph's companySubscription: one row per commercial subscription. */
export function companySubscription(row: SubscriptionRow, skuPartNumber: string, sku: SkuPlans | undefined) {
  return {
    id: row.id,
    commerceSubscriptionId: row.commerceSubscriptionId,
    createdDateTime: graphTime(row.createdAt),
    isTrial: row.isTrial,
    nextLifecycleDateTime: row.nextLifecycleAt ? graphTime(row.nextLifecycleAt) : null,
    ownerId: row.ownerId,
    ownerTenantId: null,
    ownerType: row.ownerType,
    serviceStatus: servicePlanInfo(sku),
    skuId: row.skuId,
    skuPartNumber,
    status: row.status,
    totalLicenses: row.totalLicenses,
  };
}

export type SubscriptionListing = {
  rows: { subscription: SubscriptionRow; skuPartNumber: string }[];
  plans: ReadonlyMap<string, SkuPlans>;
};

export const companySubscriptions = (listing: SubscriptionListing) =>
  listing.rows.map((r) =>
    companySubscription(r.subscription, r.skuPartNumber, listing.plans.get(r.subscription.skuId)),
  );

/**
 * Graph's subscribedSku: one row per SKU aggregating all of the admin's subscriptions of it (5 + 8 seats show as 13).
 * Self-service purchases are not the admin's pool until taken over, so they are left out here.
 */
export function subscribedSkus(
  tenant: { id: string; displayName: string },
  listing: SubscriptionListing,
  consumed: ReadonlyMap<string, number>,
) {
  const rows = listing.rows.filter((r) => r.subscription.ownerType === "Company");
  const skuIds = [...new Set(rows.map((r) => r.subscription.skuId))];
  return skuIds.map((skuId) => {
    const subs = rows.filter((r) => r.subscription.skuId === skuId);
    const units = prepaidUnits(subs.map((r) => r.subscription));
    return {
      id: `${tenant.id}_${skuId}`,
      accountId: tenant.id,
      accountName: tenant.displayName,
      appliesTo: "User",
      capabilityStatus: capabilityStatus(units),
      consumedUnits: consumed.get(skuId) ?? 0,
      prepaidUnits: units,
      servicePlans: servicePlanInfo(listing.plans.get(skuId)),
      skuId,
      skuPartNumber: subs[0]!.skuPartNumber,
      subscriptionIds: subs.map((r) => r.subscription.id),
    };
  });
}

export const overallocationAlert = (a: OverallocationAlert) => ({
  id: a.id,
  skuId: a.skuId,
  subscriptionId: a.subscriptionId,
  enabledUnits: a.enabledUnits,
  consumedUnits: a.consumedUnits,
  createdDateTime: graphTime(a.createdAt),
});
