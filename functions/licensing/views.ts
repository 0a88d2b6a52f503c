import { type SkuPlanRow, type SkuPlans, toSkuPlans } from "../catalog/store.ts";
import { graphTime } from "../core/time.ts";
import { DIRECT } from "./rules.ts";
import { sourceOfSeq } from "./seqs.ts";

export type UserLicensingView = {
  licenses: { skuId: string; disabledPlans: string[]; assignedAt: string }[];
  sources: {
    skuId: string;
    sourceId: string;
    disabledPlans: string[];
    state: string;
    error: string;
    lastUpdatedAt: string;
  }[];
};

/** Which users' licensing to read: SQL yielding their seqs, with ?1 the tenant and its own parameters after. */
export type UserSelector = { sql: string; params: unknown[] };

export const usersById = (userIds: string[]): UserSelector => ({
  sql: "SELECT seq FROM users WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
  params: [JSON.stringify(userIds)],
});

/** The statements that read the selected users' licenses, sources and (if asked) their SKUs' plans. */
export function licensingViewStatements(d1: D1Database, tenantId: string, users: UserSelector, withPlans: boolean) {
  const bind = (sql: string) => d1.prepare(sql).bind(tenantId, ...users.params);
  return [
    bind(
      `SELECT u.id AS userId, p.sku_id AS skuId, ul.disabled_plans AS disabledPlans, ul.assigned_at AS assignedAt
       FROM user_licenses ul JOIN users u ON u.seq = ul.user_seq JOIN seat_pools p ON p.seq = ul.pool_seq
       WHERE ul.user_seq IN (${users.sql}) ORDER BY ul.user_seq, ul.assigned_at, skuId`,
    ),
    bind(
      `SELECT u.id AS userId, p.sku_id AS skuId, ${sourceOfSeq("ls.source_seq")} AS sourceId, ls.disabled_plans AS disabledPlans,
         ls.state, ls.error, ls.last_updated_at AS lastUpdatedAt
       FROM license_sources ls JOIN users u ON u.seq = ls.user_seq JOIN seat_pools p ON p.seq = ls.pool_seq
       WHERE ls.user_seq IN (${users.sql}) ORDER BY ls.user_seq, skuId, sourceId`,
    ),
    ...(withPlans
      ? [
          bind(
            `SELECT s.id AS skuId, s.sku_part_number AS skuPartNumber, s.display_name AS displayName, p.id AS planId, p.name AS planName
             FROM skus s JOIN sku_service_plans sp ON sp.sku_id = s.id JOIN service_plans p ON p.id = sp.service_plan_id
             WHERE s.id IN (SELECT p.sku_id FROM user_licenses ul JOIN seat_pools p ON p.seq = ul.pool_seq
               WHERE ul.user_seq IN (${users.sql}))
             ORDER BY s.id, sp.position`,
          ),
        ]
      : []),
  ];
}

/** Turns the results of licensingViewStatements into one view per user. */
export function licensingViews(userIds: string[], results: D1Result<Record<string, unknown>>[]) {
  const [licenses, sources, plans] = results as D1Result<Record<string, string>>[];
  const views = new Map<string, UserLicensingView>(userIds.map((id) => [id, { licenses: [], sources: [] }]));
  for (const r of licenses?.results ?? []) {
    views
      .get(r.userId!)
      ?.licenses.push({ skuId: r.skuId!, disabledPlans: JSON.parse(r.disabledPlans!), assignedAt: r.assignedAt! });
  }
  for (const r of sources?.results ?? []) {
    views.get(r.userId!)?.sources.push({
      skuId: r.skuId!,
      sourceId: r.sourceId!,
      disabledPlans: JSON.parse(r.disabledPlans!),
      state: r.state!,
      error: r.error!,
      lastUpdatedAt: r.lastUpdatedAt!,
    });
  }
  return { views, skus: toSkuPlans((plans?.results ?? []) as unknown as SkuPlanRow[]) };
}

/** Reads the licensing of a page of users in one round trip. */
export async function loadLicensingViews(
  d1: D1Database,
  tenantId: string,
  userIds: string[],
  withPlans: boolean,
): Promise<{ views: Map<string, UserLicensingView>; skus: Map<string, SkuPlans> }> {
  if (userIds.length === 0) return { views: new Map(), skus: new Map() };
  const results = await d1.batch<Record<string, unknown>>(
    licensingViewStatements(d1, tenantId, usersById(userIds), withPlans),
  );
  return licensingViews(userIds, results);
}

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

// Graph names the workload behind each plan in assignedPlans.service; the catalogue has only plan names.
const servicePrefixes: [RegExp, string][] = [
  [/^EXCHANGE|^EOP|^ATP_ENTERPRISE|^THREAT_INTELLIGENCE|^INFORMATION_BARRIERS/, "exchange"],
  [/^SHAREPOINT|^ONEDRIVE|^SHAREPOINTWAC/, "SharePoint"],
  [/^MCO/, "MicrosoftCommunicationsOnline"],
  [/^TEAMS/, "TeamspaceAPI"],
  [/^INTUNE/, "SCO"],
  [/^AAD_|^MFA_/, "AADPremiumService"],
  [/^RMS_/, "RMSOnline"],
  [/^OFFICESUBSCRIPTION|^OFFICE_/, "MicrosoftOffice"],
  [/^YAMMER/, "YammerEnterprise"],
  [/^PROJECT/, "ProjectWorkManagement"],
  [/^POWERAPPS/, "PowerAppsService"],
  [/^FLOW/, "ProcessSimple"],
  [/^FORMS/, "OfficeForms"],
  [/^STREAM/, "MicrosoftStream"],
  [/^SWAY/, "Sway"],
];
export const serviceOf = (planName: string) => servicePrefixes.find(([re]) => re.test(planName))?.[1] ?? planName;

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
