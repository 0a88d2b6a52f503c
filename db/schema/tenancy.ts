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
