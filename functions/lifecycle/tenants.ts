/**
 * A tenant's creation: the tenant (tenancy), the plan rules it starts from (the catalogue's curated rules) and, if
 * asked, its first key, in one batch; and the one-time bootstrap of a deployed installation's operator tenant.
 */
import { auditStatement } from "../audit/store.ts";
import { curatedPlanRules } from "../catalog/curated-rules.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { INVALID_COUNTRY, isAssignedCountryCode } from "../core/countries.ts";
import { forbidden, invalid, uniqueness } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { isGuardFailure, isUniqueViolation } from "../core/sql.ts";
import { newKey } from "../tenancy/actions.ts";
import { domainName, initialDomain } from "../tenancy/rules.ts";
import {
  type DomainRow,
  hasOperatorTenant,
  insertDomainStatement,
  insertTenantStatements,
  noOperatorTenantGuard,
  type Tenant,
  takenDomain,
} from "../tenancy/store.ts";

const domainTaken = (name: string) =>
  uniqueness("domains", `The domain '${name}' is already a domain of another tenant.`);

export type CreateTenantInput = {
  displayName: string;
  country: string;
  /** The operator's own tenant: its GlobalAdministrators run the installation (CLI only). */
  operator?: boolean | undefined;
  /** Issue the tenant's first GlobalAdministrator key in the same batch. */
  withAdminKey?: boolean | undefined;
  /** Verified domains besides the initial one; the first becomes the default (userPrincipalNames end in these). */
  domains?: string[] | undefined;
  /** Whether the tenant's own GlobalAdministrators may buy and change seats (the operator's decision). */
  selfServiceSubscriptions?: boolean | undefined;
  /** Write nothing if an operator tenant exists when the batch runs (the bootstrap's race guard). */
  onlyIfNoOperator?: boolean | undefined;
};

/**
 * Creates a tenant with the curated plan rules (and, if asked, its first GlobalAdministrator key) in one batch. An
 * operator's API call is recorded in the operator's log; the CLI's and the seed's in the new tenant's own.
 */
export async function createTenant({ ctx, input }: { ctx: Ctx; input: CreateTenantInput }) {
  requireRole(ctx, can.operate);
  // The tenant's country is the usage location its group licensing falls back to, so it must be a real one.
  const country = input.country.toUpperCase();
  if (!isAssignedCountryCode(country)) {
    throw invalid(INVALID_COUNTRY, { fields: [{ field: "country", message: INVALID_COUNTRY }] });
  }
  const tenant: Tenant = {
    id: newId(),
    displayName: input.displayName,
    country,
    allowGuestsInLicensedGroups: false,
    isOperator: input.operator ?? false,
    selfServiceSubscriptions: input.selfServiceSubscriptions ?? false,
    licensingVersion: 0,
    createdAt: ctx.now.toISOString(),
  };
  const rules = curatedPlanRules.map((r) => ({ ...r, id: newId() }));
  const names = [...new Set((input.domains ?? []).map(domainName))];
  const taken = await takenDomain(ctx.d1, names);
  if (taken) throw domainTaken(taken);
  const domains: DomainRow[] = [initialDomain(tenant.displayName, tenant.id), ...names].map((name, i) => ({
    name,
    tenantId: tenant.id,
    // The first verified domain given is where the tenant's users live; without one, the initial domain.
    isDefault: names.length === 0 ? i === 0 : i === 1,
    isInitial: i === 0,
    isVerified: true,
    createdAt: tenant.createdAt,
  }));
  const key = input.withAdminKey ? await newKey(ctx, tenant.id, "GlobalAdministrator", "Initial admin key") : null;
  try {
    await ctx.d1.batch([
      ...(input.onlyIfNoOperator ? [noOperatorTenantGuard(ctx.d1)] : []),
      ...insertTenantStatements(ctx.d1, tenant, rules),
      ...domains.map((d) => insertDomainStatement(ctx.d1, d)),
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
  } catch (error) {
    // Another tenant took one of the names since the look-up: the domains' primary key says so.
    if (isUniqueViolation(error) && /domains/.test((error as Error).message)) {
      throw uniqueness("domains", `One of the domains '${names.join("', '")}' is already a domain of another tenant.`);
    }
    throw error;
  }
  return { tenant, domains, adminKey: key?.issued };
}

export const ALREADY_BOOTSTRAPPED =
  "This installation is already bootstrapped: it has an operator tenant. Its GlobalAdministrators create tenants " +
  "(POST /api/tenants) and keys (POST /api/keys).";

export type BootstrapInput = Pick<CreateTenantInput, "displayName" | "country" | "domains">;

/**
 * The first operator tenant of a deployed installation and its first GlobalAdministrator key, where the CLI (local
 * state only) cannot reach. Once: refused as soon as any operator tenant exists, also to a bootstrap racing this one.
 */
export async function bootstrapInstallation({ ctx, input }: { ctx: Ctx; input: BootstrapInput }) {
  requireRole(ctx, can.bootstrap);
  if (await hasOperatorTenant(ctx.d1)) throw forbidden(ALREADY_BOOTSTRAPPED, "bootstrapped");
  try {
    return await createTenant({
      ctx,
      input: { ...input, operator: true, withAdminKey: true, onlyIfNoOperator: true },
    });
  } catch (error) {
    if (isGuardFailure(error)) throw forbidden(ALREADY_BOOTSTRAPPED, "bootstrapped");
    throw error;
  }
}
