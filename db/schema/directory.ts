import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { guid, isoTime } from "../columns.ts";

/**
 * `seq` is the user's compact key inside the database: the per-member tables (group_members, license_sources,
 * user_licenses) hold it instead of the 36-character id: a rule job over 100,000 users grew those tables and their
 * indexes by about 760 bytes a user with ids, 150 with seqs. AUTOINCREMENT: a seq is never reused, so a row left
 * behind can never name another user.
 */
export const users = sqliteTable(
  "users",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: guid("id").notNull().unique(),
    tenantId: guid("tenant_id").notNull(),
    userPrincipalName: text("user_principal_name").notNull(),
    displayName: text("display_name").notNull(),
    mailNickname: text("mail_nickname"),
    givenName: text("given_name"),
    surname: text("surname"),
    mail: text("mail"),
    usageLocation: text("usage_location"),
    userType: text("user_type", { enum: ["Member", "Guest"] })
      .notNull()
      .default("Member"),
    accountEnabled: integer("account_enabled", { mode: "boolean" }).notNull().default(true),
    department: text("department"),
    country: text("country"),
    jobTitle: text("job_title"),
    companyName: text("company_name"),
    employeeId: text("employee_id"),
    createdAt: isoTime("created_at").notNull(),
    updatedAt: isoTime("updated_at").notNull(),
    deletedAt: isoTime("deleted_at"),
    // Bumped by every licensing write; the write batch is guarded on the version it read (optimistic concurrency).
    licenseVersion: integer("license_version").notNull().default(0),
  },
  (t) => [
    // Lower-cased UPN: Entra treats userPrincipalName case-insensitively. Soft-deleted users keep theirs.
    uniqueIndex("users_tenant_upn").on(t.tenantId, t.userPrincipalName),
    index("users_tenant_employee").on(t.tenantId, t.employeeId),
    // Keyset pages over a tenant's users in id order (GET /users).
    index("users_tenant_id").on(t.tenantId, t.id),
    // ... and in seq order (dynamic rule evaluation, whose pages write by seq).
    index("users_tenant_seq").on(t.tenantId, t.seq),
    // Guests are few: checks such as "does this group contain a guest" start from them, not from the members.
    index("users_tenant_type").on(t.tenantId, t.userType),
    // Keyset pages in displayName order ($orderby=displayName), compared case-insensitively as Graph sorts.
    index("users_tenant_display_name").on(t.tenantId, sql`${t.displayName} COLLATE NOCASE`, t.id),
  ],
);

/** `seq`: the group's compact key in group_members and license_sources (as users.seq). */
export const groups = sqliteTable(
  "groups",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: guid("id").notNull().unique(),
    tenantId: guid("tenant_id").notNull(),
    displayName: text("display_name").notNull(),
    description: text("description"),
    mailNickname: text("mail_nickname"),
    mailEnabled: integer("mail_enabled", { mode: "boolean" }).notNull().default(false),
    securityEnabled: integer("security_enabled", { mode: "boolean" }).notNull().default(true),
    groupTypes: text("group_types").notNull().default("[]"),
    membershipRule: text("membership_rule"),
    membershipRuleProcessingState: text("membership_rule_processing_state"),
    licenseProcessingState: text("license_processing_state"),
    // The job whose result the group's licenseProcessingState reports; a newer assignLicense supersedes it.
    licenseJobId: text("license_job_id"),
    ruleJobId: text("rule_job_id"),
    createdAt: isoTime("created_at").notNull(),
    updatedAt: isoTime("updated_at").notNull(),
    deletedAt: isoTime("deleted_at"),
  },
  (t) => [
    index("groups_tenant").on(t.tenantId),
    // Keyset pages in displayName order ($orderby=displayName), compared case-insensitively as Graph sorts.
    index("groups_tenant_display_name").on(t.tenantId, sql`${t.displayName} COLLATE NOCASE`, t.id),
  ],
);

/**
 * WITHOUT ROWID, as license_sources (migration 0007): a rule's page writes thousands of these. Keyed by seqs: a group's
 * and a user's seq belong to one tenant, so the rows need no tenant column.
 */
export const groupMembers = sqliteTable(
  "group_members",
  {
    groupSeq: integer("group_seq").notNull(),
    userSeq: integer("user_seq").notNull(),
    addedAt: isoTime("added_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupSeq, t.userSeq] }), index("group_members_user").on(t.userSeq, t.groupSeq)],
);
