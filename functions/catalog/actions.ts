/** The catalogue verbs: importing Microsoft's product list, and each tenant's service plan rules. */
import { auditStatement, INSTALLATION_LOG } from "../audit/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { licensingChanged } from "../tenancy/store.ts";
import { parseCatalogCsv } from "./csv.ts";
import {
  type CatalogCounts,
  catalogCountsStatement,
  catalogUpsertStatements,
  deletePlanRuleStatement,
  findPlanRule,
  insertPlanRuleStatement,
  knownServicePlans,
  listPlanRules as listStoredPlanRules,
  type PlanRuleKind,
  type StoredPlanRule,
} from "./store.ts";

/**
 * Imports Microsoft's product/service-plan CSV. Idempotent (a re-import changes nothing) and additive: plans Microsoft
 * adds to a SKU appear, plans it drops stay, since users may hold them. One D1 batch, so a bad file changes nothing.
 * The catalogue is shared by every tenant: an operator's import is recorded in the operator's log, the CLI's in the
 * installation's.
 */
export async function importCatalog({ ctx, input }: { ctx: Ctx; input: { csv: string } }) {
  requireRole(ctx, can.operate);
  const parsed = parseCatalogCsv(input.csv);
  if (parsed.problems.length > 0 && parsed.products.length === 0) {
    throw invalid(`The catalogue CSV could not be read: ${parsed.problems.slice(0, 5).join(" ")}`);
  }
  if (parsed.problems.length > 0) {
    throw invalid(
      `The catalogue CSV has ${parsed.problems.length} bad row(s): ${parsed.problems.slice(0, 5).join(" ")}`,
    );
  }
  const upserts = catalogUpsertStatements(ctx.d1, parsed.products);
  const results = await ctx.d1.batch<CatalogCounts>([
    catalogCountsStatement(ctx.d1),
    ...upserts,
    catalogCountsStatement(ctx.d1),
    licensingChanged(ctx.d1),
    auditStatement(
      ctx,
      {
        activity: "Import product catalogue",
        category: "DirectoryManagement",
        operationType: "Update",
        targets: [{ id: ctx.tenantId || "installation", type: "Directory", displayName: "Product catalogue" }],
        additionalDetails: [{ key: "products", value: String(parsed.products.length) }],
      },
      ctx.actor.kind === "apiKey" ? {} : { log: INSTALLATION_LOG },
    ),
  ]);
  const before = results[0]!.results[0]!;
  const after = results[1 + upserts.length]!.results[0]!;
  return {
    rows: parsed.rows,
    products: parsed.products.length,
    servicePlans: new Set(parsed.products.flatMap((p) => p.servicePlans.map((s) => s.id))).size,
    added: {
      skus: after.skus - before.skus,
      servicePlans: after.servicePlans - before.servicePlans,
      skuServicePlans: after.skuServicePlans - before.skuServicePlans,
    },
  };
}

export type PlanRuleInput = {
  kind: PlanRuleKind;
  servicePlanId: string;
  relatedServicePlanIds?: string[] | undefined;
  usageLocation?: string | null | undefined;
  description?: string | undefined;
};

export async function createPlanRule({ ctx, input }: { ctx: Ctx; input: PlanRuleInput }) {
  requireRole(ctx, can.manageCatalog);
  const related = input.relatedServicePlanIds ?? [];
  if (input.kind === "prohibited_location" && !input.usageLocation) {
    throw invalid("A prohibited_location rule needs usageLocation.");
  }
  if (input.kind !== "prohibited_location" && related.length === 0) {
    throw invalid(`A ${input.kind} rule needs relatedServicePlanIds.`);
  }
  const known = await knownServicePlans(ctx.d1, [input.servicePlanId, ...related]);
  const missing = [input.servicePlanId, ...related].find((id) => !known.has(id));
  if (missing) throw invalid(`Service plan ${missing} is not in the product catalogue.`);
  const rule: StoredPlanRule = {
    id: newId(),
    kind: input.kind,
    servicePlanId: input.servicePlanId,
    relatedServicePlanIds: input.kind === "prohibited_location" ? [] : related,
    usageLocation: input.kind === "prohibited_location" ? input.usageLocation!.toUpperCase() : null,
    description: input.description ?? "",
    createdAt: ctx.now.toISOString(),
  };
  await ctx.d1.batch([
    licensingChanged(ctx.d1, ctx.tenantId),
    insertPlanRuleStatement(ctx.d1, ctx.tenantId, rule),
    auditStatement(ctx, {
      activity: "Add service plan rule",
      category: "Policy",
      operationType: "Add",
      targets: [{ id: rule.id, type: "Other", displayName: `${rule.kind} ${rule.servicePlanId}` }],
    }),
  ]);
  return rule;
}

export async function deletePlanRule({ ctx, input }: { ctx: Ctx; input: { id: string } }) {
  requireRole(ctx, can.manageCatalog);
  const rule = await findPlanRule(ctx.d1, ctx.tenantId, input.id);
  if (!rule) throw notFound(input.id);
  await ctx.d1.batch([
    licensingChanged(ctx.d1, ctx.tenantId),
    deletePlanRuleStatement(ctx.d1, ctx.tenantId, input.id),
    auditStatement(ctx, {
      activity: "Delete service plan rule",
      category: "Policy",
      operationType: "Delete",
      targets: [{ id: input.id, type: "Other", displayName: `${rule.kind} ${rule.servicePlanId}` }],
    }),
  ]);
}

export async function listPlanRules({ ctx }: { ctx: Ctx }) {
  requireRole(ctx, can.readLicensing);
  return listStoredPlanRules(ctx.d1, ctx.tenantId);
}
