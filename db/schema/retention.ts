import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { guid, isoTime } from "../columns.ts";

/**
 * Retention's tables: users' mailboxes and their items, retention labels, OneDrive sites, the tenant's retention
 * setting and the purge ledger (DESIGN §3, functions/retention/rules.ts for what the states mean).
 *
 * Hand-written migration notes (drizzle-kit cannot express them; a generated migration that recreates these tables
 * must keep them):
 * - `mailbox_items` is WITHOUT ROWID: its primary key (mailbox_seq, item_seq) is the table itself, so a mailbox's items
 *   sit together on a few pages whatever order mail arrived in, and deleting them maintains one b-tree, not a table
 *   and an index. Measured with bench/purge-floor.mjs (100,000 due mailboxes, 1,000,000 items inserted in arrival
 *   order, pages of 100 mailboxes): 2.9 s (2.2 s CPU) against 4.0 s (3.0 s CPU) for a rowid table with a
 *   (mailbox_seq, item_seq) index, and 117 MB against 130 MB. WITHOUT ROWID suits small rows: subjects are capped at
 *   255 characters at the API, so a row stays well under a twentieth of a page.
 * - The partial indexes below are written with their WHERE clauses; drizzle emits them, but check the generated SQL.
 */

/**
 * One row per mailbox a user has had. `seq` is the mailbox's compact key (the purge's cursor, mailbox_items' key);
 * AUTOINCREMENT, so a purged mailbox's seq never names a new one. A user gets a new row when Exchange comes back after
 * the old mailbox's window (rules: "create"), so the old one keeps its own path to the purge with what labels keep.
 * No foreign key to users: an inactive mailbox outlives its user's permanent deletion.
 */
export const mailboxes = sqliteTable(
  "mailboxes",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    tenantId: guid("tenant_id").notNull(),
    userSeq: integer("user_seq").notNull(),
    state: text("state", { enum: ["Active", "Disconnected", "Inactive", "Purged"] }).notNull(),
    litigationHold: integer("litigation_hold", { mode: "boolean" }).notNull().default(false),
    litigationHoldSince: isoTime("litigation_hold_since"),
    // Disconnected: reconnect before it, purge from it on. Null while Active or Inactive.
    purgeAfter: isoTime("purge_after"),
    // When the purge next has work here (purgeAfter, then the earliest retained_until left): the due index's key,
    // so a mailbox kept by a seven-year label is not read again by every daily run.
    nextPurgeAt: isoTime("next_purge_at"),
    // Kept in the batch that adds or deletes items, so GET /api/mailboxes answers itemCount and sizeBytes in O(1), and
    // the ledger sums what a hold keeps without reading items. The purge recounts what it leaves (idempotent).
    itemCount: integer("item_count").notNull().default(0),
    sizeBytes: integer("size_bytes").notNull().default(0),
    // Allocates item_seq in the batch that adds items (UPDATE … RETURNING, then INSERT … SELECT from it).
    lastItemSeq: integer("last_item_seq").notNull().default(0),
    stateChangedAt: isoTime("state_changed_at").notNull(),
    createdAt: isoTime("created_at").notNull(),
    updatedAt: isoTime("updated_at").notNull(),
  },
  (t) => [
    // A user's mailboxes, latest last (GET /api/mailboxes/{user} reads the highest seq).
    index("mailboxes_user").on(t.userSeq, t.seq),
    // At most one Active mailbox per user, also under concurrent licensing writes: a second "create" fails the batch.
    uniqueIndex("mailboxes_user_active").on(t.userSeq).where(sql`state = 'Active'`),
    // GET /api/mailboxes?state=… in keyset pages.
    index("mailboxes_tenant_state").on(t.tenantId, t.state, t.seq),
    // GET /api/mailboxes?litigationHold=true, and the ledger's "held" sums: the few held mailboxes only.
    index("mailboxes_tenant_hold").on(t.tenantId, t.seq).where(sql`litigation_hold = 1`),
    // The purge's page read: due mailboxes in seq order, a covering walk from the cursor over only the mailboxes that
    // can be purged (disconnected, no hold); Active, Inactive, held and Purged rows are not in it at all. item_count
    // lets a page be cut at a number of items, not of mailboxes, without reading the table.
    index("mailboxes_purge_due")
      .on(t.tenantId, t.seq, t.nextPurgeAt, t.itemCount)
      .where(sql`state = 'Disconnected' AND litigation_hold = 0`),
  ],
);

/**
 * One row per item, keyed by its mailbox's seq and its number in that mailbox (items are always reached through a
 * tenant-checked mailbox, so they need neither a tenant column nor a GUID). WITHOUT ROWID (see the file's notes).
 * `retained_until` = receivedAt + the label's days (rules.retainedUntil), written when a label is applied and rewritten
 * when a label's period changes: the purge deletes `retained_until IS NULL OR retained_until <= now`, reading no labels.
 */
export const mailboxItems = sqliteTable(
  "mailbox_items",
  {
    mailboxSeq: integer("mailbox_seq").notNull(),
    itemSeq: integer("item_seq").notNull(),
    subject: text("subject").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    receivedAt: isoTime("received_at").notNull(),
    labelSeq: integer("label_seq"),
    labeledAt: isoTime("labeled_at"),
    retainedUntil: isoTime("retained_until"),
  },
  (t) => [
    primaryKey({ columns: [t.mailboxSeq, t.itemSeq] }),
    // A label's items (a changed period rewrites their retained_until; a label in use cannot be deleted): partial, so
    // the 90% of items without a label cost the purge no index maintenance.
    index("mailbox_items_label").on(t.labelSeq, t.mailboxSeq).where(sql`label_seq IS NOT NULL`),
  ],
);

/** A tenant's retention labels. `seq`: the compact key items hold. */
export const retentionLabels = sqliteTable(
  "retention_labels",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: guid("id").notNull().unique(),
    tenantId: guid("tenant_id").notNull(),
    name: text("name").notNull(),
    // 1 to 36,500 (rules.retentionLabelProblem); measured from each item's received date.
    retentionDays: integer("retention_days").notNull(),
    createdAt: isoTime("created_at").notNull(),
    updatedAt: isoTime("updated_at").notNull(),
  },
  (t) => [uniqueIndex("retention_labels_tenant_name").on(t.tenantId, t.name)],
);

/** One row per OneDrive a user has had: kept when the license goes, retained from the user's deletion, then purged. */
export const oneDriveSites = sqliteTable(
  "onedrive_sites",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    tenantId: guid("tenant_id").notNull(),
    userSeq: integer("user_seq").notNull(),
    state: text("state", { enum: ["Active", "Retained", "Purged"] }).notNull(),
    // Retained: the user's deletion + the tenant's OneDrive retention at that moment.
    purgeAfter: isoTime("purge_after"),
    storageUsedBytes: integer("storage_used_bytes").notNull().default(0),
    createdAt: isoTime("created_at").notNull(),
    updatedAt: isoTime("updated_at").notNull(),
  },
  (t) => [
    index("onedrive_sites_user").on(t.userSeq, t.seq),
    uniqueIndex("onedrive_sites_user_live").on(t.userSeq).where(sql`state <> 'Purged'`),
    // The purge's walk over retained sites in seq order, as mailboxes_purge_due.
    index("onedrive_sites_purge_due").on(t.tenantId, t.seq, t.purgeAfter).where(sql`state = 'Retained'`),
  ],
);

/**
 * The tenant's retention settings. Retention's own table so tenancy knows nothing of retention; a row is created on
 * first write, and no row means the defaults.
 */
export const retentionSettings = sqliteTable("retention_settings", {
  tenantId: guid("tenant_id").primaryKey(),
  // SharePoint's "Days to retain files in OneDrive after a user account is marked for deletion": 30 to 3650.
  oneDriveRetentionDays: integer("onedrive_retention_days").notNull().default(30),
  updatedAt: isoTime("updated_at").notNull(),
});

/**
 * One row per purge run (GET /api/retention/ledger). The run is a job on the paged-job engine (jobs/runner.ts on main),
 * and this row shares the job's id: the job row carries the cursor ("mailboxes:<seq>", then "oneDrive:<seq>"), and
 * each page adds its counts here in the batch that deletes and moves that cursor, so a run interrupted anywhere
 * resumes and counts nothing twice. `asOf` is the run's clock (the cron's scheduledTime), fixed for every page, so
 * a resumed run decides as its first page did; one scheduled run per tenant and asOf.
 */
export const purgeLedger = sqliteTable(
  "purge_ledger",
  {
    id: guid("id").primaryKey(),
    tenantId: guid("tenant_id").notNull(),
    trigger: text("trigger", { enum: ["scheduled", "api"] }).notNull(),
    dryRun: integer("dry_run", { mode: "boolean" }).notNull().default(false),
    asOf: isoTime("as_of").notNull(),
    state: text("state", { enum: ["Running", "Complete"] }).notNull(),
    mailboxes: integer("mailboxes").notNull().default(0),
    mailboxesPurged: integer("mailboxes_purged").notNull().default(0),
    itemsPurged: integer("items_purged").notNull().default(0),
    bytesPurged: integer("bytes_purged").notNull().default(0),
    // What holds kept whole mailboxes, summed once when the run starts from the held mailboxes' counters.
    heldByLitigationHold: integer("held_by_litigation_hold").notNull().default(0),
    heldByLitigationHoldItems: integer("held_by_litigation_hold_items").notNull().default(0),
    heldByLitigationHoldBytes: integer("held_by_litigation_hold_bytes").notNull().default(0),
    inactiveMailboxes: integer("inactive_mailboxes").notNull().default(0),
    inactiveItems: integer("inactive_items").notNull().default(0),
    inactiveBytes: integer("inactive_bytes").notNull().default(0),
    oneDriveSitesPurged: integer("onedrive_sites_purged").notNull().default(0),
    // Users deleted permanently by this run: 30 days in the recycle bin (Graph's deletedItems).
    usersDeleted: integer("users_deleted").notNull().default(0),
    startedAt: isoTime("started_at").notNull(),
    finishedAt: isoTime("finished_at"),
  },
  (t) => [
    index("purge_ledger_tenant_time").on(t.tenantId, t.startedAt),
    // A scheduled run that fires twice (a retried cron) finds its own row instead of starting a second run.
    uniqueIndex("purge_ledger_scheduled").on(t.tenantId, t.asOf).where(sql`trigger = 'scheduled'`),
  ],
);

/** What labels kept in one run, per label (the ledger's "which labels blocked what"); a page adds to its rows. */
export const purgeLedgerLabels = sqliteTable(
  "purge_ledger_labels",
  {
    ledgerId: guid("ledger_id").notNull(),
    labelSeq: integer("label_seq").notNull(),
    items: integer("items").notNull().default(0),
    bytes: integer("bytes").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.ledgerId, t.labelSeq] })],
);
