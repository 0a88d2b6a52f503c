import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { guid, guidList, isoTime } from "../columns.ts";

// The product catalogue is Microsoft's published reference data, shared by every tenant.
export const skus = sqliteTable(
  "skus",
  {
    id: guid("id").primaryKey(),
    // Not unique: Microsoft's list reuses a few String_Ids across GUIDs.
    skuPartNumber: text("sku_part_number").notNull(),
    displayName: text("display_name").notNull(),
    appliesTo: text("applies_to").notNull().default("User"),
  },
  (t) => [index("skus_part_number").on(t.skuPartNumber)],
);

export const servicePlans = sqliteTable("service_plans", {
  id: guid("id").primaryKey(),
  name: text("name").notNull(),
  friendlyName: text("friendly_name").notNull(),
});

export const skuServicePlans = sqliteTable(
  "sku_service_plans",
  {
    skuId: guid("sku_id").notNull(),
    servicePlanId: guid("service_plan_id").notNull(),
    position: integer("position").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.skuId, t.servicePlanId] })],
);

// Plan rules are per tenant (seeded from curated facts when the tenant is created) so one tenant's edits never
// change another's licensing.
export const planRules = sqliteTable(
  "plan_rules",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    kind: text("kind", { enum: ["exclusive", "requires", "prohibited_location"] }).notNull(),
    servicePlanId: guid("service_plan_id").notNull(),
    // exclusive: the plans it cannot be combined with; requires: any one of these must be enabled too.
    relatedServicePlanIds: guidList("related_service_plan_ids"),
    // prohibited_location: the ISO 3166 country where the plan may not be used.
    usageLocation: text("usage_location"),
    description: text("description").notNull().default(""),
    createdAt: isoTime("created_at").notNull(),
  },
  (t) => [index("plan_rules_tenant").on(t.tenantId)],
);
