import { isGuid } from "../core/ids.ts";

export type GroupRow = {
  /** The group's compact key in group_members and license_sources (groups.seq); never shown by the API. */
  seq: number;
  id: string;
  tenantId: string;
  displayName: string;
  description: string | null;
  mailNickname: string | null;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes: string[];
  membershipRule: string | null;
  membershipRuleProcessingState: string | null;
  licenseProcessingState: string | null;
  licenseJobId: string | null;
  ruleJobId: string | null;
  /** State of the latest dynamic-rule evaluation job, if any. */
  ruleJobState?: string | null;
  createdAt: string;
  updatedAt: string;
};

export const groupColumns = `g.seq, g.id, g.tenant_id AS tenantId, g.display_name AS displayName, g.description, g.mail_nickname AS mailNickname,
  g.mail_enabled AS mailEnabled, g.security_enabled AS securityEnabled, g.group_types AS groupTypes, g.membership_rule AS membershipRule,
  g.membership_rule_processing_state AS membershipRuleProcessingState, g.license_processing_state AS licenseProcessingState,
  g.license_job_id AS licenseJobId, g.rule_job_id AS ruleJobId, g.created_at AS createdAt, g.updated_at AS updatedAt,
  (SELECT j.state FROM license_jobs j WHERE j.id = g.rule_job_id) AS ruleJobState`;

export const toGroupRow = (raw: Record<string, unknown>): GroupRow => ({
  ...(raw as GroupRow),
  mailEnabled: raw.mailEnabled === 1 || raw.mailEnabled === true,
  securityEnabled: raw.securityEnabled === 1 || raw.securityEnabled === true,
  groupTypes: JSON.parse(String(raw.groupTypes ?? "[]")) as string[],
});

export const isDynamic = (group: Pick<GroupRow, "groupTypes">) => group.groupTypes.includes("DynamicMembership");

export async function findGroup(d1: D1Database, tenantId: string, id: string): Promise<GroupRow | undefined> {
  if (!isGuid(id)) return undefined;
  const row = await d1
    .prepare(`SELECT ${groupColumns} FROM groups g WHERE g.tenant_id = ?1 AND g.id = ?2 AND g.deleted_at IS NULL`)
    .bind(tenantId, id.toLowerCase())
    .first<Record<string, unknown>>();
  return row ? toGroupRow(row) : undefined;
}

export type GroupLicense = { skuId: string; disabledPlans: string[]; assignedAt: string };

export async function loadGroupLicenses(d1: D1Database, tenantId: string, groupIds: string[]) {
  const out = new Map<string, GroupLicense[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return out;
  const { results } = await d1
    .prepare(
      `SELECT group_id AS groupId, sku_id AS skuId, disabled_plans AS disabledPlans, assigned_at AS assignedAt FROM group_licenses
       WHERE tenant_id = ?1 AND group_id IN (SELECT value FROM json_each(?2)) ORDER BY assigned_at, sku_id`,
    )
    .bind(tenantId, JSON.stringify(groupIds))
    .all<Record<string, string>>();
  for (const r of results) {
    out
      .get(r.groupId!)
      ?.push({ skuId: r.skuId!, disabledPlans: JSON.parse(r.disabledPlans!), assignedAt: r.assignedAt! });
  }
  return out;
}
