/** The product catalogue and the tenants' plan rules as stored: reads and write builders. */
import { chunk } from "../core/sql.ts";
import type { CatalogProduct } from "./csv.ts";

export type SkuPlans = { skuId: string; skuPartNumber: string; displayName: string; servicePlans: PlanRef[] };
export type PlanRef = { id: string; name: string };

/** Idempotent upserts of the catalogue, a few hundred rows per statement through one JSON parameter. */
export function catalogUpsertStatements(d1: D1Database, products: CatalogProduct[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (const part of chunk(products, 200)) {
    statements.push(
      d1
        .prepare(
          `INSERT INTO skus (id, sku_part_number, display_name)
           SELECT value ->> '$.skuId', value ->> '$.skuPartNumber', value ->> '$.displayName' FROM json_each(?1) WHERE true
           ON CONFLICT (id) DO UPDATE SET sku_part_number = excluded.sku_part_number, display_name = excluded.display_name
           WHERE skus.sku_part_number IS NOT excluded.sku_part_number OR skus.display_name IS NOT excluded.display_name`,
        )
        .bind(
          JSON.stringify(part.map(({ skuId, skuPartNumber, displayName }) => ({ skuId, skuPartNumber, displayName }))),
        ),
    );
  }
  // The first friendly name seen for a plan wins: the CSV repeats plans under slightly different names per product.
  const plans = new Map<string, { id: string; name: string; friendlyName: string }>();
  const links: { skuId: string; planId: string; position: number }[] = [];
  for (const product of products) {
    product.servicePlans.forEach((plan, position) => {
      if (!plans.has(plan.id)) plans.set(plan.id, plan);
      links.push({ skuId: product.skuId, planId: plan.id, position });
    });
  }
  for (const part of chunk([...plans.values()], 400)) {
    statements.push(
      d1
        .prepare(
          `INSERT INTO service_plans (id, name, friendly_name)
           SELECT value ->> '$.id', value ->> '$.name', value ->> '$.friendlyName' FROM json_each(?1) WHERE true
           ON CONFLICT (id) DO NOTHING`,
        )
        .bind(JSON.stringify(part)),
    );
  }
  for (const part of chunk(links, 800)) {
    statements.push(
      d1
        .prepare(
          `INSERT INTO sku_service_plans (sku_id, service_plan_id, position)
           SELECT value ->> '$.skuId', value ->> '$.planId', value ->> '$.position' FROM json_each(?1) WHERE true
           ON CONFLICT (sku_id, service_plan_id) DO NOTHING`,
        )
        .bind(JSON.stringify(part)),
    );
  }
  return statements;
}

export type CatalogCounts = { skus: number; servicePlans: number; skuServicePlans: number };

export const catalogCountsStatement = (d1: D1Database) =>
  d1.prepare(`SELECT (SELECT count(*) FROM skus) AS skus, (SELECT count(*) FROM service_plans) AS servicePlans,
    (SELECT count(*) FROM sku_service_plans) AS skuServicePlans`);

/**
 * The one statement shape that reads SKUs with their plans in catalogue order; `skuIds` is SQL yielding the SKU ids
 * (a JSON list, a tenant's pools, a user's licenses), so every read of SKU plans shares it.
 */
export const skuPlansSql = (skuIds: string) =>
  `SELECT s.id AS skuId, s.sku_part_number AS skuPartNumber, s.display_name AS displayName, p.id AS planId, p.name AS planName
   FROM skus s LEFT JOIN sku_service_plans sp ON sp.sku_id = s.id LEFT JOIN service_plans p ON p.id = sp.service_plan_id
   WHERE s.id IN (${skuIds}) ORDER BY s.id, sp.position`;

/** The plans of the given SKUs, in catalogue order. */
export const skuPlansQuery = (d1: D1Database, skuIds: string[]): D1PreparedStatement =>
  d1.prepare(skuPlansSql("SELECT value FROM json_each(?1)")).bind(JSON.stringify(skuIds));

export type SkuPlanRow = {
  skuId: string;
  skuPartNumber: string;
  displayName: string;
  planId: string | null;
  planName: string | null;
};

export function toSkuPlans(rows: readonly SkuPlanRow[]): Map<string, SkuPlans> {
  const out = new Map<string, SkuPlans>();
  for (const row of rows) {
    let sku = out.get(row.skuId);
    if (!sku) {
      sku = { skuId: row.skuId, skuPartNumber: row.skuPartNumber, displayName: row.displayName, servicePlans: [] };
      out.set(row.skuId, sku);
    }
    if (row.planId) sku.servicePlans.push({ id: row.planId, name: row.planName ?? "" });
  }
  return out;
}

export async function loadSkuPlans(d1: D1Database, skuIds: string[]): Promise<Map<string, SkuPlans>> {
  if (skuIds.length === 0) return new Map();
  const { results } = await skuPlansQuery(d1, skuIds).all<SkuPlanRow>();
  return toSkuPlans(results);
}

/** Which of these plan ids the catalogue knows. */
export async function knownServicePlans(d1: D1Database, planIds: string[]): Promise<Set<string>> {
  const { results } = await d1
    .prepare("SELECT id FROM service_plans WHERE id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(planIds))
    .all<{ id: string }>();
  return new Set(results.map((r) => r.id));
}

// ---- plan rules (per tenant) ----

export type PlanRuleKind = "exclusive" | "requires" | "prohibited_location";

export type StoredPlanRule = {
  id: string;
  kind: PlanRuleKind;
  servicePlanId: string;
  relatedServicePlanIds: string[];
  usageLocation: string | null;
  description: string;
  createdAt: string;
};

/**
 * The one statement shape that reads a tenant's plan rules; `tenant` is SQL naming the tenant id. In storage order:
 * the licensing rules report the first rule a unit breaks, so every path must see the rules in the same order.
 */
export const planRulesSql = (tenant: string) =>
  `SELECT id, kind, service_plan_id AS servicePlanId, related_service_plan_ids AS relatedServicePlanIds,
     usage_location AS usageLocation, description, created_at AS createdAt
   FROM plan_rules WHERE tenant_id = ${tenant}`;

/** Plan rule rows as read (their related plans as JSON text). */
export const toPlanRules = (rows: readonly Record<string, unknown>[]): StoredPlanRule[] =>
  rows.map((r) => ({
    ...(r as StoredPlanRule),
    relatedServicePlanIds: JSON.parse(String(r.relatedServicePlanIds)) as string[],
  }));

export async function listPlanRules(d1: D1Database, tenantId: string): Promise<StoredPlanRule[]> {
  const { results } = await d1
    .prepare(`${planRulesSql("?1")} ORDER BY created_at, id`)
    .bind(tenantId)
    .all<Record<string, unknown>>();
  return toPlanRules(results);
}

export async function findPlanRule(d1: D1Database, tenantId: string, id: string) {
  return d1
    .prepare("SELECT kind, service_plan_id AS servicePlanId FROM plan_rules WHERE tenant_id = ?1 AND id = ?2")
    .bind(tenantId, id)
    .first<{ kind: string; servicePlanId: string }>();
}

export const insertPlanRuleStatement = (d1: D1Database, tenantId: string, rule: StoredPlanRule) =>
  d1
    .prepare(
      `INSERT INTO plan_rules (id, tenant_id, kind, service_plan_id, related_service_plan_ids, usage_location, description, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
    )
    .bind(
      rule.id,
      tenantId,
      rule.kind,
      rule.servicePlanId,
      JSON.stringify(rule.relatedServicePlanIds),
      rule.usageLocation,
      rule.description,
      rule.createdAt,
    );

export const deletePlanRuleStatement = (d1: D1Database, tenantId: string, id: string) =>
  d1.prepare("DELETE FROM plan_rules WHERE tenant_id = ?1 AND id = ?2").bind(tenantId, id);
