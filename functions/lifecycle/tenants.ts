/**
 * A tenant's creation: the tenant (tenancy), the plan rules it starts from (the catalogue's curated rules) and, if
 * asked, its first key, in one batch.
 */
import { auditStatement } from "../audit/store.ts";
import { curatedPlanRules } from "../catalog/curated-rules.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { newKey } from "../tenancy/actions.ts";
import { insertTenantStatements, type Tenant } from "../tenancy/store.ts";

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
