import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { guid, guidList, isoTime } from "../columns.ts";

/** The SKUs a group hands to its members (what `POST /groups/{id}/assignLicense` sets). */
export const groupLicenses = sqliteTable(
  "group_licenses",
  {
    tenantId: guid("tenant_id").notNull(),
    groupId: guid("group_id").notNull(),
    skuId: guid("sku_id").notNull(),
    disabledPlans: guidList("disabled_plans"),
    assignedAt: isoTime("assigned_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.skuId] }), index("group_licenses_tenant").on(t.tenantId)],
);

/**
 * One row per (user, sku, source): Graph's `licenseAssignmentStates`. Keyed by seqs (users.seq, seat_pools.seq for the
 * tenant's SKU, and `sourceSeq` 0 for a direct assignment or the group's seq), all of one tenant.
 * The original intent is kept even when the source is in an error state.
 * WITHOUT ROWID (migrations 0007 and 0009, hand-written: drizzle-kit cannot express it; a generated migration that
 * recreates this table must keep it).
 */
export const licenseSources = sqliteTable(
  "license_sources",
  {
    userSeq: integer("user_seq").notNull(),
    poolSeq: integer("pool_seq").notNull(),
    sourceSeq: integer("source_seq").notNull(),
    disabledPlans: guidList("disabled_plans"),
    state: text("state", { enum: ["Active", "ActiveWithError", "Disabled", "Error"] }).notNull(),
    error: text("error").notNull().default("None"),
    lastUpdatedAt: isoTime("last_updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userSeq, t.poolSeq, t.sourceSeq] }),
    // Partial indexes: they hold only the few rows in error, so a group job writing 100,000 healthy sources adds
    // nothing to them (the full indexes were an eighth of what such a job wrote).
    // Members of a group whose assignment is in error (membersWithLicenseErrors, hasMembersWithLicenseErrors).
    index("license_sources_errors").on(t.sourceSeq).where(sql`state = 'Error'`),
    // Users waiting for a seat of a SKU, oldest first (automatic reprocess when seats come free).
    index("license_sources_waiting").on(t.poolSeq, t.lastUpdatedAt).where(sql`error = 'CountViolation'`),
  ],
);

/**
 * One row per (user, sku) that consumes a seat, with the effective disabled plans; derived from license_sources.
 * Keyed and WITHOUT ROWID as license_sources.
 */
export const userLicenses = sqliteTable(
  "user_licenses",
  {
    userSeq: integer("user_seq").notNull(),
    poolSeq: integer("pool_seq").notNull(),
    disabledPlans: guidList("disabled_plans"),
    assignedAt: isoTime("assigned_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userSeq, t.poolSeq] }), index("user_licenses_pool").on(t.poolSeq, t.userSeq)],
);
