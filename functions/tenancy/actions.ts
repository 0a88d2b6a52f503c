/** The tenancy verbs: tenants and their API keys. Every entry point (API, CLI, seed, tests) changes them through these. */
import { auditStatement } from "../audit/store.ts";
import { curatedPlanRules } from "../catalog/curated-rules.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx, Role } from "../core/context.ts";
import { notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { generateApiKey, hashApiKey } from "./keys.ts";
import {
  type ApiKeyRow,
  findLiveApiKey,
  findTenant,
  insertApiKeyStatement,
  insertTenantStatements,
  listApiKeys as listStoredApiKeys,
  revokeApiKeyStatement,
  type Tenant,
} from "./store.ts";

export type { Tenant } from "./store.ts";

export type IssuedKey = { id: string; key: string; role: Role; name: string; tenantId: string; createdAt: string };

/** A new key's secret (shown once) and the statement that stores its hash. */
async function newKey(ctx: Ctx, tenantId: string, role: Role, name: string) {
  const key = generateApiKey();
  const issued: IssuedKey = { id: newId(), key, role, name, tenantId, createdAt: ctx.now.toISOString() };
  const insert = insertApiKeyStatement(ctx.d1, { ...issued, keyHash: await hashApiKey(key) });
  const audit = auditStatement(
    ctx,
    {
      activity: "Add API key",
      category: "ApplicationManagement",
      operationType: "Add",
      targets: [{ id: issued.id, displayName: issued.name, type: "Other" }],
      additionalDetails: [{ key: "role", value: issued.role }],
    },
    { log: tenantId },
  );
  return { issued, statements: [insert, audit] };
}

export type CreateTenantInput = {
  displayName: string;
  country: string;
  /** The operator's own tenant: its GlobalAdministrators run the installation (CLI only). */
  operator?: boolean | undefined;
  /** Issue the tenant's first GlobalAdministrator key in the same batch. */
  withAdminKey?: boolean | undefined;
};

/**
 * Creates a tenant with the curated plan rules (and, if asked, its first GlobalAdministrator key) in one batch. An
 * operator's API call is recorded in the operator's log; the CLI's and the seed's in the new tenant's own.
 */
export async function createTenant({ ctx, input }: { ctx: Ctx; input: CreateTenantInput }) {
  requireRole(ctx, can.operate);
  const tenant: Tenant = {
    id: newId(),
    displayName: input.displayName,
    country: input.country.toUpperCase(),
    allowGuestsInLicensedGroups: false,
    isOperator: input.operator ?? false,
    licensingVersion: 0,
    createdAt: ctx.now.toISOString(),
  };
  const rules = curatedPlanRules.map((r) => ({ ...r, id: newId() }));
  const key = input.withAdminKey ? await newKey(ctx, tenant.id, "GlobalAdministrator", "Initial admin key") : null;
  await ctx.d1.batch([
    ...insertTenantStatements(ctx.d1, tenant, rules),
    auditStatement(
      ctx,
      {
        activity: "Add tenant",
        category: "DirectoryManagement",
        operationType: "Add",
        targets: [{ id: tenant.id, displayName: tenant.displayName, type: "Directory" }],
      },
      { log: ctx.actor.kind === "apiKey" ? ctx.tenantId : tenant.id },
    ),
    ...(key?.statements ?? []),
  ]);
  return { tenant, adminKey: key?.issued };
}

/** Issues an API key for the context's tenant; the secret is returned once and only its hash is kept. */
export async function issueApiKey({ ctx, input }: { ctx: Ctx; input: { role: Role; name?: string | undefined } }) {
  requireRole(ctx, can.manageTenancy);
  if (!(await findTenant(ctx.d1, ctx.tenantId))) throw notFound(ctx.tenantId);
  const { issued, statements } = await newKey(ctx, ctx.tenantId, input.role, input.name ?? `${input.role} key`);
  await ctx.d1.batch(statements);
  return issued;
}

export async function listApiKeys({ ctx }: { ctx: Ctx }): Promise<ApiKeyRow[]> {
  requireRole(ctx, can.manageTenancy);
  return listStoredApiKeys(ctx.d1, ctx.tenantId);
}

export async function revokeApiKey({ ctx, input }: { ctx: Ctx; input: { keyId: string } }) {
  requireRole(ctx, can.manageTenancy);
  const row = await findLiveApiKey(ctx.d1, ctx.tenantId, input.keyId);
  if (!row) throw notFound(input.keyId);
  await ctx.d1.batch([
    revokeApiKeyStatement(ctx.d1, ctx.tenantId, input.keyId, ctx.now.toISOString()),
    auditStatement(ctx, {
      activity: "Delete API key",
      category: "ApplicationManagement",
      operationType: "Delete",
      targets: [{ id: row.id, displayName: row.name, type: "Other" }],
    }),
  ]);
}

/** The caller's tenant (Graph's organization). */
export async function getOrganization({ ctx }: { ctx: Ctx }): Promise<Tenant> {
  requireRole(ctx, can.readDirectory);
  const tenant = await findTenant(ctx.d1, ctx.tenantId);
  if (!tenant) throw notFound(ctx.tenantId);
  return tenant;
}
