import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { guid, isoTime } from "../columns.ts";

export const subscriptions = sqliteTable(
  "subscriptions",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    skuId: guid("sku_id").notNull(),
    commerceSubscriptionId: guid("commerce_subscription_id").notNull(),
    totalLicenses: integer("total_licenses").notNull(),
    status: text("status", { enum: ["Enabled", "Warning", "Suspended", "LockedOut", "Deleted"] }).notNull(),
    isTrial: integer("is_trial", { mode: "boolean" }).notNull().default(false),
    ownerType: text("owner_type", { enum: ["Company", "User"] })
      .notNull()
      .default("Company"),
    ownerId: text("owner_id"),
    createdAt: isoTime("created_at").notNull(),
    nextLifecycleAt: isoTime("next_lifecycle_at"),
  },
  (t) => [index("subscriptions_tenant_sku").on(t.tenantId, t.skuId)],
);

// One row per (tenant, sku): the admin's pool. `enabledUnits` is recomputed from subscriptions in the batch that
// changes them; `consumedUnits` moves with every assignment. The seat check reads and guards this single row.
// `seq` is the (tenant, sku) pair's compact key in license_sources and user_licenses; pools are never deleted.
export const seatPools = sqliteTable(
  "seat_pools",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    tenantId: guid("tenant_id").notNull(),
    skuId: guid("sku_id").notNull(),
    enabledUnits: integer("enabled_units").notNull().default(0),
    consumedUnits: integer("consumed_units").notNull().default(0),
  },
  (t) => [uniqueIndex("seat_pools_tenant_sku").on(t.tenantId, t.skuId)],
);

/**
 * A pool left with more seats consumed than enabled after a change to its subscriptions (seats cut, a subscription
 * suspended): existing users keep their licenses (DESIGN rule 3), and the over-allocation is reported here.
 */
export const overallocationAlerts = sqliteTable(
  "overallocation_alerts",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    skuId: guid("sku_id").notNull(),
    subscriptionId: guid("subscription_id").notNull(),
    enabledUnits: integer("enabled_units").notNull(),
    consumedUnits: integer("consumed_units").notNull(),
    createdAt: isoTime("created_at").notNull(),
  },
  (t) => [index("overallocation_alerts_tenant").on(t.tenantId, t.createdAt)],
);
