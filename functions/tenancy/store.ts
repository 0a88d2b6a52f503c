/** Tenants and API keys as stored: the reads and the write builders of the tenancy capability. */
import type { tenants } from "../../db/schema/index.ts";
import type { Role } from "../core/context.ts";
import { guardSql } from "../core/sql.ts";

export type Tenant = typeof tenants.$inferSelect;

const tenantColumns = `id, display_name AS displayName, country, allow_guests_in_licensed_groups AS allowGuestsInLicensedGroups,
  is_operator AS isOperator, self_service_subscriptions AS selfServiceSubscriptions, licensing_version AS licensingVersion,
  created_at AS createdAt`;

/** SQLite hands booleans back as 0/1. */
const toTenant = (row: Record<string, unknown>): Tenant => ({
  ...(row as Tenant),
  allowGuestsInLicensedGroups: row.allowGuestsInLicensedGroups === 1 || row.allowGuestsInLicensedGroups === true,
  isOperator: row.isOperator === 1 || row.isOperator === true,
  selfServiceSubscriptions: row.selfServiceSubscriptions === 1 || row.selfServiceSubscriptions === true,
});

export async function findTenant(d1: D1Database, tenantId: string): Promise<Tenant | undefined> {
  const row = await d1
    .prepare(`SELECT ${tenantColumns} FROM tenants WHERE id = ?1`)
    .bind(tenantId)
    .first<Record<string, unknown>>();
  return row ? toTenant(row) : undefined;
}

export async function listTenants(d1: D1Database): Promise<Tenant[]> {
  const { results } = await d1
    .prepare(`SELECT ${tenantColumns} FROM tenants ORDER BY created_at, id`)
    .all<Record<string, unknown>>();
  return results.map(toTenant);
}

/** Whether the installation has an operator tenant yet (a bootstrap is refused once it has). */
export async function hasOperatorTenant(d1: D1Database): Promise<boolean> {
  return (await d1.prepare("SELECT 1 AS one FROM tenants WHERE is_operator = 1 LIMIT 1").first()) !== null;
}

/**
 * Aborts the batch if an operator tenant exists when it runs: D1 runs batches one at a time, so of two bootstraps racing
 * past the read above, the second one's batch finds the first one's tenant and writes nothing.
 */
export const noOperatorTenantGuard = (d1: D1Database): D1PreparedStatement =>
  d1.prepare(guardSql("NOT EXISTS (SELECT 1 FROM tenants WHERE is_operator = 1)"));

/** A tenant with the plan rules it starts from (the curated ones; each tenant edits its own copy). */
export function insertTenantStatements(
  d1: D1Database,
  tenant: Tenant,
  rules: readonly {
    id: string;
    kind: string;
    servicePlanId: string;
    relatedServicePlanIds: string[];
    usageLocation: string | null;
    description: string;
  }[],
): D1PreparedStatement[] {
  return [
    d1
      .prepare(
        `INSERT INTO tenants (id, display_name, country, allow_guests_in_licensed_groups, is_operator,
           self_service_subscriptions, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
      )
      .bind(
        tenant.id,
        tenant.displayName,
        tenant.country,
        tenant.allowGuestsInLicensedGroups ? 1 : 0,
        tenant.isOperator ? 1 : 0,
        tenant.selfServiceSubscriptions ? 1 : 0,
        tenant.createdAt,
      ),
    d1
      .prepare(
        `INSERT INTO plan_rules (id, tenant_id, kind, service_plan_id, related_service_plan_ids, usage_location, description, created_at)
         SELECT value ->> '$.id', ?1, value ->> '$.kind', value ->> '$.servicePlanId', json(value -> '$.relatedServicePlanIds'),
           value ->> '$.usageLocation', value ->> '$.description', ?2
         FROM json_each(?3)`,
      )
      .bind(tenant.id, tenant.createdAt, JSON.stringify(rules)),
  ];
}

/**
 * Marks that what licensing decisions read (seats, rules, catalogue) changed: part of the batch that changes it, so a
 * licensing write decided on the old view fails its guard and is decided again. Without a tenant: every tenant (the
 * shared catalogue changed).
 */
export const licensingChanged = (d1: D1Database, tenantId?: string): D1PreparedStatement =>
  tenantId
    ? d1.prepare("UPDATE tenants SET licensing_version = licensing_version + 1 WHERE id = ?1").bind(tenantId)
    : d1.prepare("UPDATE tenants SET licensing_version = licensing_version + 1");

export type ApiKeyRecord = { keyId: string; tenantId: string; role: Role; name: string; operator: boolean };

/** The live key with this hash, with what authentication needs of its tenant. */
export async function findApiKeyByHash(d1: D1Database, hash: string): Promise<ApiKeyRecord | null> {
  const row = await d1
    .prepare(
      `SELECT k.id AS keyId, k.tenant_id AS tenantId, k.role, k.name, t.is_operator AS operator
       FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = ?1 AND k.revoked_at IS NULL`,
    )
    .bind(hash)
    .first<Omit<ApiKeyRecord, "operator"> & { operator: number }>();
  return row ? { ...row, operator: row.operator === 1 } : null;
}

export type ApiKeyRow = { id: string; name: string; role: Role; createdAt: string; revokedAt: string | null };

export async function listApiKeys(d1: D1Database, tenantId: string): Promise<ApiKeyRow[]> {
  const { results } = await d1
    .prepare(
      `SELECT id, name, role, created_at AS createdAt, revoked_at AS revokedAt FROM api_keys WHERE tenant_id = ?1
       ORDER BY created_at, id`,
    )
    .bind(tenantId)
    .all<ApiKeyRow>();
  return results;
}

export async function findLiveApiKey(d1: D1Database, tenantId: string, keyId: string) {
  return d1
    .prepare("SELECT id, name FROM api_keys WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL")
    .bind(tenantId, keyId)
    .first<{ id: string; name: string }>();
}

export const insertApiKeyStatement = (
  d1: D1Database,
  key: { id: string; tenantId: string; keyHash: string; role: Role; name: string; createdAt: string },
) =>
  d1
    .prepare("INSERT INTO api_keys (id, tenant_id, key_hash, role, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
    .bind(key.id, key.tenantId, key.keyHash, key.role, key.name, key.createdAt);

export const revokeApiKeyStatement = (d1: D1Database, tenantId: string, keyId: string, at: string) =>
  d1.prepare("UPDATE api_keys SET revoked_at = ?1 WHERE tenant_id = ?2 AND id = ?3").bind(at, tenantId, keyId);

export type TenantSettings = { allowGuestsInLicensedGroups: boolean };

/** The tenant's settings, as the rules that depend on them read them. */
export async function tenantSettings(d1: D1Database, tenantId: string): Promise<TenantSettings> {
  const row = await d1
    .prepare("SELECT allow_guests_in_licensed_groups AS allowed FROM tenants WHERE id = ?1")
    .bind(tenantId)
    .first<{ allowed: number }>();
  return { allowGuestsInLicensedGroups: row?.allowed === 1 };
}

/** Whether the tenant's own GlobalAdministrators may buy and change seats (else only the operator may). */
export async function sellsItselfSeats(d1: D1Database, tenantId: string): Promise<boolean> {
  const row = await d1
    .prepare("SELECT self_service_subscriptions AS selfService FROM tenants WHERE id = ?1")
    .bind(tenantId)
    .first<{ selfService: number }>();
  return row?.selfService === 1;
}

// ---- domains ----

export type DomainRow = {
  name: string;
  tenantId: string;
  isDefault: boolean;
  isInitial: boolean;
  isVerified: boolean;
  createdAt: string;
};

const toDomain = (r: Record<string, unknown>): DomainRow => ({
  ...(r as DomainRow),
  isDefault: r.isDefault === 1 || r.isDefault === true,
  isInitial: r.isInitial === 1 || r.isInitial === true,
  isVerified: r.isVerified === 1 || r.isVerified === true,
});

const domainColumns =
  "name, tenant_id AS tenantId, is_default AS isDefault, is_initial AS isInitial, is_verified AS isVerified, created_at AS createdAt";

export async function listDomains(d1: D1Database, tenantId: string): Promise<DomainRow[]> {
  const { results } = await d1
    .prepare(`SELECT ${domainColumns} FROM domains WHERE tenant_id = ?1 ORDER BY is_initial DESC, name`)
    .bind(tenantId)
    .all<Record<string, unknown>>();
  return results.map(toDomain);
}

/** The domain of this name, whichever tenant holds it (a name belongs to one tenant only). */
export async function findDomain(d1: D1Database, name: string): Promise<DomainRow | undefined> {
  const row = await d1
    .prepare(`SELECT ${domainColumns} FROM domains WHERE name = ?1`)
    .bind(name)
    .first<Record<string, unknown>>();
  return row ? toDomain(row) : undefined;
}

/** The first of these domain names that some tenant already holds (names are unique across the installation). */
export async function takenDomain(d1: D1Database, names: readonly string[]): Promise<string | undefined> {
  if (names.length === 0) return undefined;
  const row = await d1
    .prepare("SELECT name FROM domains WHERE name IN (SELECT value FROM json_each(?1)) ORDER BY name LIMIT 1")
    .bind(JSON.stringify(names))
    .first<{ name: string }>();
  return row?.name;
}

/** The tenant's default domain goes back to its initial one (when the default is removed). */
export const resetDefaultDomainStatement = (d1: D1Database, tenantId: string) =>
  d1.prepare("UPDATE domains SET is_default = is_initial WHERE tenant_id = ?1").bind(tenantId);

/** The names of the tenant's verified domains: a userPrincipalName must end in one of them. */
export async function verifiedDomainNames(d1: D1Database, tenantId: string): Promise<string[]> {
  const { results } = await d1
    .prepare("SELECT name FROM domains WHERE tenant_id = ?1 AND is_verified = 1")
    .bind(tenantId)
    .all<{ name: string }>();
  return results.map((r) => r.name);
}

export const insertDomainStatement = (d1: D1Database, domain: DomainRow) =>
  d1
    .prepare(
      `INSERT INTO domains (name, tenant_id, is_default, is_initial, is_verified, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
    )
    .bind(
      domain.name,
      domain.tenantId,
      domain.isDefault ? 1 : 0,
      domain.isInitial ? 1 : 0,
      domain.isVerified ? 1 : 0,
      domain.createdAt,
    );

/** Makes `name` the tenant's default domain (the one new userPrincipalNames are suggested in) and no other. */
export const setDefaultDomainStatement = (d1: D1Database, tenantId: string, name: string) =>
  d1.prepare("UPDATE domains SET is_default = (name = ?2) WHERE tenant_id = ?1").bind(tenantId, name);

export const deleteDomainStatement = (d1: D1Database, tenantId: string, name: string) =>
  d1.prepare("DELETE FROM domains WHERE tenant_id = ?1 AND name = ?2").bind(tenantId, name);

/** How many of the tenant's users (deleted ones too: they may be restored) have a userPrincipalName in the domain. */
export async function usersInDomain(d1: D1Database, tenantId: string, name: string): Promise<number> {
  const row = await d1
    .prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?1 AND user_principal_name LIKE ?2 ESCAPE '\\'")
    .bind(tenantId, `%@${name.replace(/[\\%_]/g, (c) => `\\${c}`)}`)
    .first<{ n: number }>();
  return Number(row?.n ?? 0);
}

/** The tenant's settings that its own administrators change. */
export const updateSettingsStatement = (d1: D1Database, tenantId: string, settings: TenantSettings) =>
  d1
    .prepare("UPDATE tenants SET allow_guests_in_licensed_groups = ?2 WHERE id = ?1")
    .bind(tenantId, settings.allowGuestsInLicensedGroups ? 1 : 0);

/** Whether the tenant sells itself seats: the operator's decision. */
export const updateSeatSellingStatement = (d1: D1Database, tenantId: string, selfServiceSubscriptions: boolean) =>
  d1
    .prepare("UPDATE tenants SET self_service_subscriptions = ?2 WHERE id = ?1")
    .bind(tenantId, selfServiceSubscriptions ? 1 : 0);
