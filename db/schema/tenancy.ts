import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { guid, isoTime } from "../columns.ts";

export const tenants = sqliteTable("tenants", {
  id: guid("id").primaryKey(),
  displayName: text("display_name").notNull(),
  // The directory's country: the usage location group-based licensing falls back to.
  country: text("country").notNull(),
  allowGuestsInLicensedGroups: integer("allow_guests_in_licensed_groups", { mode: "boolean" }).notNull().default(false),
  // The operator's own tenant: its GlobalAdministrators run the installation (shared catalogue, new tenants).
  isOperator: integer("is_operator", { mode: "boolean" }).notNull().default(false),
  // Whether the tenant's own GlobalAdministrators may buy seats and change them; otherwise seats are the operator's to
  // sell (creating subscriptions and changing their seats takes an operator key).
  selfServiceSubscriptions: integer("self_service_subscriptions", { mode: "boolean" }).notNull().default(false),
  // Bumped by every change to what licensing decisions read besides the user (subscriptions, plan rules, catalogue),
  // so a licensing write decided on an older view of them fails its guard and is decided again.
  licensingVersion: integer("licensing_version").notNull().default(0),
  createdAt: isoTime("created_at").notNull(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    // SHA-256 of the secret: keys are 256-bit random, so a fast hash is enough and a leak of this table reveals nothing.
    keyHash: text("key_hash").notNull().unique(),
    role: text("role").notNull(),
    name: text("name").notNull(),
    createdAt: isoTime("created_at").notNull(),
    revokedAt: isoTime("revoked_at"),
  },
  (t) => [index("api_keys_tenant").on(t.tenantId)],
);

/**
 * The tenant's domains (Graph's domain resource). A userPrincipalName must end in one of its verified domains; a
 * domain name belongs to one tenant only, so no tenant can create users in another's domain. Every tenant gets an
 * initial domain when it is created.
 */
export const domains = sqliteTable(
  "domains",
  {
    // The lower-cased domain name: Graph's domain id.
    name: text("name").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    isInitial: integer("is_initial", { mode: "boolean" }).notNull().default(false),
    isVerified: integer("is_verified", { mode: "boolean" }).notNull().default(true),
    createdAt: isoTime("created_at").notNull(),
  },
  (t) => [index("domains_tenant").on(t.tenantId)],
);
