/** The licensing presenters: Graph's assignedLicenses, assignedPlans, licenseAssignmentStates and licenseDetails. */
import { serviceOf } from "../catalog/service-plans.ts";
import type { SkuPlans } from "../catalog/store.ts";
import { graphTime } from "../core/time.ts";
import { DIRECT } from "./rules.ts";
import type { UserLicensingView } from "./store.ts";

export const assignedLicenses = (view: UserLicensingView) =>
  view.licenses.map((l) => ({ disabledPlans: l.disabledPlans, skuId: l.skuId }));

export const licenseAssignmentStates = (view: UserLicensingView) =>
  view.sources.map((s) => ({
    assignedByGroup: s.sourceId === DIRECT ? null : s.sourceId,
    disabledPlans: s.disabledPlans,
    error: s.error,
    lastUpdatedDateTime: graphTime(s.lastUpdatedAt),
    skuId: s.skuId,
    state: s.state,
  }));

/** Graph's assignedPlans: every enabled plan of every held SKU, once per plan. */
export function assignedPlans(view: UserLicensingView, skus: ReadonlyMap<string, SkuPlans>) {
  const seen = new Set<string>();
  const out: { assignedDateTime: string; capabilityStatus: string; service: string; servicePlanId: string }[] = [];
  for (const license of view.licenses) {
    const disabled = new Set(license.disabledPlans);
    for (const plan of skus.get(license.skuId)?.servicePlans ?? []) {
      if (disabled.has(plan.id) || seen.has(plan.id)) continue;
      seen.add(plan.id);
      out.push({
        assignedDateTime: graphTime(license.assignedAt),
        capabilityStatus: "Enabled",
        service: serviceOf(plan.name),
        servicePlanId: plan.id,
      });
    }
  }
  return out;
}

/** GET /users/{id}/licenseDetails: one entry per held SKU, disabled plans shown as `Disabled`. */
export function licenseDetails(userId: string, view: UserLicensingView, skus: ReadonlyMap<string, SkuPlans>) {
  return view.licenses.map((license) => {
    const sku = skus.get(license.skuId);
    const disabled = new Set(license.disabledPlans);
    return {
      id: `${userId}_${license.skuId}`,
      skuId: license.skuId,
      skuPartNumber: sku?.skuPartNumber ?? null,
      servicePlans: (sku?.servicePlans ?? []).map((p) => ({
        servicePlanId: p.id,
        servicePlanName: p.name,
        provisioningStatus: disabled.has(p.id) ? "Disabled" : "Success",
        appliesTo: "User",
      })),
    };
  });
}

/** The licensing properties of Graph's user resource, for the directory's presenter. */
export const userLicensingProperties = (view: UserLicensingView, skus: ReadonlyMap<string, SkuPlans>) => ({
  assignedLicenses: assignedLicenses(view),
  assignedPlans: assignedPlans(view, skus),
  licenseAssignmentStates: licenseAssignmentStates(view),
});
