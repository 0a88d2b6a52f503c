import { loadSkuPlans, type SkuPlans } from "../catalog/store.ts";
import type { Ctx } from "../core/context.ts";
import { graphTime } from "../core/time.ts";
import { capabilityStatus, prepaidUnits } from "./rules.ts";
import { listSubscriptions, type SubscriptionRow } from "./store.ts";

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

export async function loadCompanySubscriptions(ctx: Ctx) {
  const rows = await listSubscriptions(ctx.d1, ctx.tenantId);
  const plans = await loadSkuPlans(ctx.d1, [...new Set(rows.map((r) => r.subscription.skuId))]);
  return rows.map((r) => companySubscription(r.subscription, r.skuPartNumber, plans.get(r.subscription.skuId)));
}

/**
 * Graph's subscribedSku: one row per SKU aggregating all of the admin's subscriptions of it (5 + 8 seats show as 13).
 * Self-service purchases are not the admin's pool until taken over, so they are left out here.
 */
export async function loadSubscribedSkus(ctx: Ctx, tenantName: string) {
  const rows = (await listSubscriptions(ctx.d1, ctx.tenantId)).filter((r) => r.subscription.ownerType === "Company");
  const skuIds = [...new Set(rows.map((r) => r.subscription.skuId))];
  const [plans, pools] = await Promise.all([
    loadSkuPlans(ctx.d1, skuIds),
    ctx.d1
      .prepare("SELECT sku_id AS skuId, consumed_units AS consumed FROM seat_pools WHERE tenant_id = ?1")
      .bind(ctx.tenantId)
      .all<{ skuId: string; consumed: number }>(),
  ]);
  const consumed = new Map(pools.results.map((p) => [p.skuId, p.consumed]));
  return skuIds.map((skuId) => {
    const subs = rows.filter((r) => r.subscription.skuId === skuId);
    const units = prepaidUnits(subs.map((r) => r.subscription));
    return {
      id: `${ctx.tenantId}_${skuId}`,
      accountId: ctx.tenantId,
      accountName: tenantName,
      appliesTo: "User",
      capabilityStatus: capabilityStatus(units),
      consumedUnits: consumed.get(skuId) ?? 0,
      prepaidUnits: units,
      servicePlans: servicePlanInfo(plans.get(skuId)),
      skuId,
      skuPartNumber: subs[0]!.skuPartNumber,
      subscriptionIds: subs.map((r) => r.subscription.id),
    };
  });
}
