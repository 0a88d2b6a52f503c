import { auditStatement } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { invalid, notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { licensingChanged } from "../licensing/store.ts";
import { parseCatalogCsv } from "./csv.ts";
import { catalogCountsSql, catalogUpsertStatements } from "./store.ts";

type Counts = { skus: number; servicePlans: number; skuServicePlans: number };

/**
 * Imports Microsoft's product/service-plan CSV. Idempotent (a re-import changes nothing) and additive: plans Microsoft
 * adds to a SKU appear, plans it drops stay, since users may hold them. One D1 batch, so a bad file changes nothing.
 */
export async function importCatalog(d1: D1Database, csv: string, ctx?: Ctx) {
  const parsed = parseCatalogCsv(csv);
  if (parsed.problems.length > 0 && parsed.products.length === 0) {
    throw invalid(`The catalogue CSV could not be read: ${parsed.problems.slice(0, 5).join(" ")}`);
  }
  if (parsed.problems.length > 0) {
    throw invalid(
      `The catalogue CSV has ${parsed.problems.length} bad row(s): ${parsed.problems.slice(0, 5).join(" ")}`,
    );
  }
  const counts = d1.prepare(catalogCountsSql);
  const results = await d1.batch<Counts>([
    counts,
    ...catalogUpsertStatements(d1, parsed.products),
    counts,
    licensingChanged(d1),
    ...(ctx
      ? [
          auditStatement(ctx, {
            activity: "Import product catalogue",
            category: "DirectoryManagement",
            operationType: "Update",
            targets: [{ id: ctx.tenantId, type: "Directory", displayName: "Product catalogue" }],
            additionalDetails: [{ key: "products", value: String(parsed.products.length) }],
          }),
        ]
      : []),
  ]);
  const before = results[0]!.results[0]!;
  const after = results[results.length - (ctx ? 3 : 2)]!.results[0]!;
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
  kind: "exclusive" | "requires" | "prohibited_location";
  servicePlanId: string;
  relatedServicePlanIds?: string[] | undefined;
  usageLocation?: string | null | undefined;
  description?: string | undefined;
};

export async function createPlanRule({ ctx, input }: { ctx: Ctx; input: PlanRuleInput }) {
  const related = input.relatedServicePlanIds ?? [];
  if (input.kind === "prohibited_location" && !input.usageLocation) {
    throw invalid("A prohibited_location rule needs usageLocation.");
  }
  if (input.kind !== "prohibited_location" && related.length === 0) {
    throw invalid(`A ${input.kind} rule needs relatedServicePlanIds.`);
  }
  const known = await ctx.d1
    .prepare("SELECT id FROM service_plans WHERE id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify([input.servicePlanId, ...related]))
    .all<{ id: string }>();
  const missing = [input.servicePlanId, ...related].find((id) => !known.results.some((r) => r.id === id));
  if (missing) throw invalid(`Service plan ${missing} is not in the product catalogue.`);
  const rule = {
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
    ctx.d1
      .prepare(
        `INSERT INTO plan_rules (id, tenant_id, kind, service_plan_id, related_service_plan_ids, usage_location, description, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
      )
      .bind(
        rule.id,
        ctx.tenantId,
        rule.kind,
        rule.servicePlanId,
        JSON.stringify(rule.relatedServicePlanIds),
        rule.usageLocation,
        rule.description,
        rule.createdAt,
      ),
    auditStatement(ctx, {
      activity: "Add service plan rule",
      category: "Policy",
      operationType: "Add",
      targets: [{ id: rule.id, type: "Other", displayName: `${rule.kind} ${rule.servicePlanId}` }],
    }),
  ]);
  return rule;
}

export async function deletePlanRule({ ctx, id }: { ctx: Ctx; id: string }) {
  const rule = await ctx.d1
    .prepare("SELECT kind, service_plan_id AS servicePlanId FROM plan_rules WHERE tenant_id = ?1 AND id = ?2")
    .bind(ctx.tenantId, id)
    .first<{ kind: string; servicePlanId: string }>();
  if (!rule) throw notFound(id);
  await ctx.d1.batch([
    licensingChanged(ctx.d1, ctx.tenantId),
    ctx.d1.prepare("DELETE FROM plan_rules WHERE tenant_id = ?1 AND id = ?2").bind(ctx.tenantId, id),
    auditStatement(ctx, {
      activity: "Delete service plan rule",
      category: "Policy",
      operationType: "Delete",
      targets: [{ id, type: "Other", displayName: `${rule.kind} ${rule.servicePlanId}` }],
    }),
  ]);
}

export async function listPlanRules(ctx: Ctx) {
  const { results } = await ctx.d1
    .prepare(
      `SELECT id, kind, service_plan_id AS servicePlanId, related_service_plan_ids AS relatedServicePlanIds,
         usage_location AS usageLocation, description, created_at AS createdAt
       FROM plan_rules WHERE tenant_id = ?1 ORDER BY created_at, id`,
    )
    .bind(ctx.tenantId)
    .all<Record<string, string>>();
  return results.map((r) => ({ ...r, relatedServicePlanIds: JSON.parse(r.relatedServicePlanIds!) as string[] }));
}
