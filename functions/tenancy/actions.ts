import type { tenants } from "../../db/schema/index.ts";
import { auditStatement } from "../audit/store.ts";
import { curatedPlanRules } from "../catalog/curated-rules.ts";
import type { Ctx, Role } from "../core/context.ts";
import { notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { generateApiKey, hashApiKey } from "./keys.ts";

export type Tenant = typeof tenants.$inferSelect;

/** Creates a tenant with the curated plan rules; used by the CLI, the API and the demo seed. */
export async function createTenant(
  d1: D1Database,
  input: { displayName: string; country: string; operator?: boolean; now?: Date },
  ctx?: Ctx,
) {
  const now = (input.now ?? new Date()).toISOString();
  const tenant: Tenant = {
    id: newId(),
    displayName: input.displayName,
    country: input.country.toUpperCase(),
    allowGuestsInLicensedGroups: false,
    isOperator: input.operator ?? false,
    licensingVersion: 0,
    createdAt: now,
  };
  const rules = curatedPlanRules.map((r) => ({ ...r, id: newId() }));
  await d1.batch([
    d1
      .prepare(
        `INSERT INTO tenants (id, display_name, country, allow_guests_in_licensed_groups, is_operator, created_at)
         VALUES (?1, ?2, ?3, 0, ?4, ?5)`,
      )
      .bind(tenant.id, tenant.displayName, tenant.country, tenant.isOperator ? 1 : 0, now),
    d1
      .prepare(
        `INSERT INTO plan_rules (id, tenant_id, kind, service_plan_id, related_service_plan_ids, usage_location, description, created_at)
         SELECT value ->> '$.id', ?1, value ->> '$.kind', value ->> '$.servicePlanId', json(value -> '$.relatedServicePlanIds'),
           value ->> '$.usageLocation', value ->> '$.description', ?2
         FROM json_each(?3)`,
      )
      .bind(tenant.id, now, JSON.stringify(rules)),
    // Recorded in the creating (operator) tenant's log when created through the API.
    ...(ctx
      ? [
          auditStatement(ctx, {
            activity: "Add tenant",
            category: "DirectoryManagement",
            operationType: "Add",
            targets: [{ id: tenant.id, displayName: tenant.displayName, type: "Directory" }],
          }),
        ]
      : []),
  ]);
  return tenant;
}

export type IssuedKey = { id: string; key: string; role: Role; name: string; tenantId: string; createdAt: string };

/** Issues an API key; the secret is returned once and only its hash is kept. */
export async function issueApiKey(
  d1: D1Database,
  input: { tenantId: string; role: Role; name?: string; now?: Date },
  ctx?: Ctx,
): Promise<IssuedKey> {
  const tenant = await d1.prepare("SELECT id FROM tenants WHERE id = ?1").bind(input.tenantId).first();
  if (!tenant) throw notFound(input.tenantId);
  const key = generateApiKey();
  const issued: IssuedKey = {
    id: newId(),
    key,
    role: input.role,
    name: input.name ?? `${input.role} key`,
    tenantId: input.tenantId,
    createdAt: (input.now ?? new Date()).toISOString(),
  };
  const insert = d1
    .prepare("INSERT INTO api_keys (id, tenant_id, key_hash, role, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
    .bind(issued.id, issued.tenantId, await hashApiKey(key), issued.role, issued.name, issued.createdAt);
  const audit = ctx
    ? [
        auditStatement(ctx, {
          activity: "Add API key",
          category: "ApplicationManagement",
          operationType: "Add",
          targets: [{ id: issued.id, displayName: issued.name, type: "Other" }],
          additionalDetails: [{ key: "role", value: issued.role }],
        }),
      ]
    : [];
  await d1.batch([insert, ...audit]);
  return issued;
}

export async function listApiKeys(d1: D1Database, tenantId: string) {
  const { results } = await d1
    .prepare(
      `SELECT id, name, role, created_at AS createdAt, revoked_at AS revokedAt FROM api_keys WHERE tenant_id = ?1
       ORDER BY created_at`,
    )
    .bind(tenantId)
    .all<{ id: string; name: string; role: Role; createdAt: string; revokedAt: string | null }>();
  return results;
}

export async function revokeApiKey(ctx: Ctx, keyId: string) {
  const row = await ctx.d1
    .prepare("SELECT id, name FROM api_keys WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL")
    .bind(ctx.tenantId, keyId)
    .first<{ id: string; name: string }>();
  if (!row) throw notFound(keyId);
  await ctx.d1.batch([
    ctx.d1
      .prepare("UPDATE api_keys SET revoked_at = ?1 WHERE tenant_id = ?2 AND id = ?3")
      .bind(ctx.now.toISOString(), ctx.tenantId, keyId),
    auditStatement(ctx, {
      activity: "Delete API key",
      category: "ApplicationManagement",
      operationType: "Delete",
      targets: [{ id: row.id, displayName: row.name, type: "Other" }],
    }),
  ]);
}

export async function findTenant(d1: D1Database, tenantId: string): Promise<Tenant | undefined> {
  const row = await d1
    .prepare(
      `SELECT id, display_name AS displayName, country, allow_guests_in_licensed_groups AS allowGuestsInLicensedGroups,
         is_operator AS isOperator, licensing_version AS licensingVersion, created_at AS createdAt FROM tenants WHERE id = ?1`,
    )
    .bind(tenantId)
    .first<Record<string, unknown>>();
  if (!row) return undefined;
  return {
    ...(row as Tenant),
    allowGuestsInLicensedGroups: row.allowGuestsInLicensedGroups === 1,
    isOperator: row.isOperator === 1,
  };
}
