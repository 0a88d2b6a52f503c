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
    // Soft delete (Graph's recycle bin): set by DELETE /users/{id}; cleared by a restore.
    deletedAt: isoTime("deleted_at"),
    // Permanent deletion (DELETE /directory/deletedItems/{id}, or the daily run 30 days after deletedAt): the row stays
    // as a tombstone (an inactive mailbox outlives its user, audit rows name it) but its userPrincipalName is free again.
    hardDeletedAt: isoTime("hard_deleted_at"),
    // What a restore brings back, kept from the soft delete until the restore or the permanent deletion: the direct
    // licenses the user held and their static group memberships (JSON: {"direct":[{skuId,disabledPlans}],"groups":[id]}).
    restoreState: text("restore_state"),
    // Bumped by every licensing write; the write batch is guarded on the version it read (optimistic concurrency).
    licenseVersion: integer("license_version").notNull().default(0),
  },
  (t) => [
    // Lower-cased UPN: Entra treats userPrincipalName case-insensitively. Live and soft-deleted users hold theirs; a
    // permanently deleted user's row is told apart by its own seq, so its UPN is free for a new user. Lookups by
    // (tenant_id, user_principal_name) use the index's first two columns.
    uniqueIndex("users_tenant_upn").on(
      t.tenantId,
      t.userPrincipalName,
      sql`(CASE WHEN ${t.hardDeletedAt} IS NULL THEN 0 ELSE ${t.seq} END)`,
    ),
    // The recycle bin: GET /directory/deletedItems/microsoft.graph.user and the daily permanent deletion walk it.
    index("users_tenant_deleted")
      .on(t.tenantId, t.deletedAt, t.seq)
      .where(sql`deleted_at IS NOT NULL AND hard_deleted_at IS NULL`),
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
