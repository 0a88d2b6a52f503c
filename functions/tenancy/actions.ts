/** The tenancy verbs: API keys and the organization. Every entry point (API, CLI, seed, tests) goes through these. */

import { auditStatement } from "../audit/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx, Role } from "../core/context.ts";
import { invalid, notFound, uniqueness } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { isUniqueViolation } from "../core/sql.ts";
import { generateApiKey, hashApiKey } from "./keys.ts";
import { domainName } from "./rules.ts";
import {
  type ApiKeyRow,
  type DomainRow,
  deleteDomainStatement,
  findDomain,
  findLiveApiKey,
  findTenant,
  insertApiKeyStatement,
  insertDomainStatement,
  listApiKeys as listStoredApiKeys,
  listDomains as listStoredDomains,
  resetDefaultDomainStatement,
  revokeApiKeyStatement,
  setDefaultDomainStatement,
  type Tenant,
  type TenantSettings,
  updateSeatSellingStatement,
  updateSettingsStatement,
  usersInDomain,
} from "./store.ts";

export type { Tenant } from "./store.ts";

export type IssuedKey = { id: string; key: string; role: Role; name: string; tenantId: string; createdAt: string };

/** A new key's secret (shown once) and the statements that store its hash and record it. */
export async function newKey(ctx: Ctx, tenantId: string, role: Role, name: string) {
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

// ---- domains ----

const domainTaken = () => uniqueness("id", "Another object with the same value for property id already exists.");

export async function listDomains({ ctx }: { ctx: Ctx }): Promise<DomainRow[]> {
  requireRole(ctx, can.readDirectory);
  return listStoredDomains(ctx.d1, ctx.tenantId);
}

/**
 * Adds a verified domain to the tenant. seatflow checks no DNS: a domain is verified when its tenant's administrator
 * adds it, and a name already held by any tenant is refused (with the same words, so no tenant learns another's).
 */
export async function addDomain({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { name: string; isDefault?: boolean | undefined };
}) {
  requireRole(ctx, can.manageTenancy);
  const name = domainName(input.name);
  const domain: DomainRow = {
    name,
    tenantId: ctx.tenantId,
    isDefault: false,
    isInitial: false,
    isVerified: true,
    createdAt: ctx.now.toISOString(),
  };
  try {
    await ctx.d1.batch([
      insertDomainStatement(ctx.d1, domain),
      ...(input.isDefault ? [setDefaultDomainStatement(ctx.d1, ctx.tenantId, name)] : []),
      auditStatement(ctx, {
        activity: "Add verified domain",
        category: "DirectoryManagement",
        operationType: "Add",
        targets: [{ id: name, displayName: name, type: "Other" }],
      }),
    ]);
  } catch (error) {
    // The name is the primary key: held already, by this tenant or another, the insert says so.
    if (isUniqueViolation(error)) throw domainTaken();
    throw error;
  }
  return { ...domain, isDefault: input.isDefault ?? false };
}

/** One of the tenant's domains; another tenant's is not found, as one that does not exist. */
async function tenantDomain(ctx: Ctx, name: string): Promise<DomainRow> {
  const domain = await findDomain(ctx.d1, name.trim().toLowerCase());
  if (!domain || domain.tenantId !== ctx.tenantId) throw notFound(name);
  return domain;
}

/** GET /v1.0/domains/{id}. */
export async function getDomain({ ctx, input }: { ctx: Ctx; input: { name: string } }): Promise<DomainRow> {
  requireRole(ctx, can.readDirectory);
  return tenantDomain(ctx, input.name);
}

/** Removes a domain no user's userPrincipalName uses; the initial domain stays (it becomes the default again). */
export async function removeDomain({ ctx, input }: { ctx: Ctx; input: { name: string } }) {
  requireRole(ctx, can.manageTenancy);
  const domain = await tenantDomain(ctx, input.name);
  const name = domain.name;
  if (domain.isInitial) throw invalid("The initial domain of a tenant cannot be removed.", { reason: "initialDomain" });
  const users = await usersInDomain(ctx.d1, ctx.tenantId, name);
  if (users > 0) {
    throw invalid(
      `Domain '${name}' can't be removed: ${users} user(s) have a userPrincipalName in it. Rename them first.`,
      { reason: "domainInUse" },
    );
  }
  await ctx.d1.batch([
    deleteDomainStatement(ctx.d1, ctx.tenantId, name),
    ...(domain.isDefault ? [resetDefaultDomainStatement(ctx.d1, ctx.tenantId)] : []),
    auditStatement(ctx, {
      activity: "Remove verified domain",
      category: "DirectoryManagement",
      operationType: "Delete",
      targets: [{ id: name, displayName: name, type: "Other" }],
    }),
  ]);
}

// ---- settings ----

export type Settings = TenantSettings & { selfServiceSubscriptions: boolean };

export async function getSettings({ ctx }: { ctx: Ctx }): Promise<Settings> {
  requireRole(ctx, can.readTenancy);
  const tenant = await findTenant(ctx.d1, ctx.tenantId);
  if (!tenant) throw notFound(ctx.tenantId);
  return {
    allowGuestsInLicensedGroups: tenant.allowGuestsInLicensedGroups,
    selfServiceSubscriptions: tenant.selfServiceSubscriptions,
  };
}

/** The settings a tenant's administrators decide (whether seats are theirs to buy is the operator's: setSeatSelling). */
export async function updateSettings({ ctx, input }: { ctx: Ctx; input: Partial<TenantSettings> }) {
  requireRole(ctx, can.manageTenancy);
  const before = await getSettings({ ctx });
  const next = { ...before, ...input };
  if (next.allowGuestsInLicensedGroups !== before.allowGuestsInLicensedGroups) {
    await ctx.d1.batch([
      updateSettingsStatement(ctx.d1, ctx.tenantId, next),
      auditStatement(ctx, {
        activity: "Update company settings",
        category: "DirectoryManagement",
        operationType: "Update",
        targets: [
          {
            id: ctx.tenantId,
            type: "Directory",
            modifiedProperties: [
              {
                displayName: "allowGuestsInLicensedGroups",
                oldValue: String(before.allowGuestsInLicensedGroups),
                newValue: String(next.allowGuestsInLicensedGroups),
              },
            ],
          },
        ],
      }),
    ]);
  }
  return next;
}

/**
 * Whether a tenant's own GlobalAdministrators may buy seats and change them. In an installation with many tenants,
 * seats are the operator's to sell: this is the operator's switch (an operator key, or the CLI).
 */
export async function setSeatSelling({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: { tenantId: string; selfServiceSubscriptions: boolean };
}) {
  requireRole(ctx, can.operate);
  const tenant = await findTenant(ctx.d1, input.tenantId);
  if (!tenant) throw notFound(input.tenantId);
  await ctx.d1.batch([
    updateSeatSellingStatement(ctx.d1, tenant.id, input.selfServiceSubscriptions),
    auditStatement(ctx, {
      activity: "Update company settings",
      category: "DirectoryManagement",
      operationType: "Update",
      targets: [
        {
          id: tenant.id,
          displayName: tenant.displayName,
          type: "Directory",
          modifiedProperties: [
            {
              displayName: "selfServiceSubscriptions",
              oldValue: String(tenant.selfServiceSubscriptions),
              newValue: String(input.selfServiceSubscriptions),
            },
          ],
        },
      ],
    }),
  ]);
  return { ...tenant, selfServiceSubscriptions: input.selfServiceSubscriptions };
}

/**
 * The context of an operator acting for another tenant (selling it seats): the same actor, that tenant's data. Only
 * the operator tenant's administrators may; an unknown tenant is a 404.
 */
export async function actForTenant({ ctx, input }: { ctx: Ctx; input: { tenantId: string } }): Promise<Ctx> {
  requireRole(ctx, can.operate);
  const tenant = await findTenant(ctx.d1, input.tenantId.toLowerCase());
  if (!tenant) throw notFound(input.tenantId);
  return { ...ctx, tenantId: tenant.id };
}
