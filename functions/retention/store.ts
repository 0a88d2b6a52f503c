/**
 * Mailboxes, their items, retention labels, OneDrive sites and the tenant's retention setting as stored: the reads
 * behind the retention API, its writes, and the set-based state transitions the licensing write paths append to their
 * batches (licensing-hook.ts).
 */
import { BULK_QUERY_FIRST_PARAM, type BulkShape, bulkAuditFromQuery } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { isGuid } from "../core/ids.ts";
import { guardSql } from "../core/sql.ts";
import { type Mailbox, type MailboxState, type OneDriveSite, type OneDriveState, windows } from "./rules.ts";

/** The audit rows of mailbox and OneDrive moves, whoever moves them (a licensing change, the purge). */
export const MAILBOX_STATE_AUDIT: BulkShape & { property: string } = {
  activity: "Change mailbox state",
  category: "UserManagement",
  operationType: "Update",
  sharedTargets: [],
  property: "MailboxState",
};
export const ONEDRIVE_STATE_AUDIT: BulkShape & { property: string } = {
  ...MAILBOX_STATE_AUDIT,
  activity: "Change OneDrive state",
  property: "OneDriveState",
};
/** What a bulk audit entry names of each user it moves (`u` is the users row): bulkAuditFromQuery's first columns. */
export const AUDITED_USER_COLUMNS =
  "u.id AS userId, u.display_name AS displayName, u.user_principal_name AS userPrincipalName";

// ---- transitions written with a licensing change ----------------------------------------------------------------

/** One user of a licensing change, as the mailbox transitions take it: [userSeq, licensed after, deleted after]. */
export type MailboxChangeRow = [userSeq: number, licensed: 0 | 1, deleted: 0 | 1];
/** One user, as the OneDrive transitions take it: [userSeq, wants a site after (a OneDrive plan, not deleted), deleted after]. */
export type OneDriveChangeRow = [userSeq: number, wantsSite: 0 | 1, deleted: 0 | 1];

/**
 * rules.mailboxOutcome in SQL, per user of the list `list` (JSON of MailboxChangeRow), against each user's latest
 * mailbox as stored when the statement runs: the action the rules decide (create, reconnect, inactivate, disconnect)
 * or NULL (none, stay). Each statement that uses it recomputes it, and every action leads to a state where the rules
 * decide "stay", so the three statements below each apply their own actions once, in whatever order. A test runs it
 * against the rules for every state, hold, window and change.
 */
const mailboxPlan = (tenant: string, now: string, list: string) => `
  c AS (SELECT value ->> 0 AS user_seq, value ->> 1 AS licensed, value ->> 2 AS deleted FROM json_each(${list})),
  cur AS (SELECT c.user_seq, c.licensed, c.deleted, m.seq AS mailbox_seq, m.state, m.litigation_hold AS hold,
            m.purge_after
          FROM c LEFT JOIN mailboxes m
            ON m.seq = (SELECT max(seq) FROM mailboxes WHERE user_seq = c.user_seq) AND m.tenant_id = ${tenant}),
  plan AS MATERIALIZED (SELECT user_seq, mailbox_seq, state, CASE
      WHEN mailbox_seq IS NULL THEN CASE WHEN licensed THEN 'create' END
      WHEN state = 'Active' THEN CASE WHEN licensed THEN NULL WHEN deleted AND hold THEN 'inactivate' ELSE 'disconnect' END
      WHEN state = 'Disconnected' THEN CASE
        WHEN licensed THEN CASE WHEN ${now} < purge_after THEN 'reconnect' ELSE 'create' END
        WHEN deleted AND hold THEN 'inactivate' END
      WHEN state = 'Inactive' THEN CASE WHEN deleted THEN NULL WHEN licensed THEN 'reconnect' ELSE 'disconnect' END
      WHEN state = 'Purged' THEN CASE WHEN licensed THEN 'create' END
    END AS action FROM cur)`;

/** The values a mailbox state audit entry refers to by index (the first: no mailbox before). */
const MAILBOX_STATES = ["", "Active", "Disconnected", "Inactive", "Purged"] as const;
const stateIndexSql = (state: string) =>
  `CASE ${state} ${MAILBOX_STATES.slice(1)
    .map((s, i) => `WHEN '${s}' THEN ${i + 1}`)
    .join(" ")} ELSE 0 END`;
const newStateSql = (action: string) =>
  `CASE ${action} WHEN 'inactivate' THEN 'Inactive' WHEN 'disconnect' THEN 'Disconnected' ELSE 'Active' END`;

/**
 * The mailbox side of a licensing change, for the change's batch: one bulk audit row naming every mailbox that moves
 * (written first, so it sees the states before), then the moves of existing mailboxes and the new ones. `purgeAfter` is
 * the change's time plus the window (rules.addDays), the end of the countdown a disconnect starts.
 */
export function mailboxTransitionStatements(
  ctx: Ctx,
  rows: readonly MailboxChangeRow[],
  purgeAfter: string,
): D1PreparedStatement[] {
  if (rows.length === 0) return [];
  const list = JSON.stringify(rows);
  const p = BULK_QUERY_FIRST_PARAM;
  return [
    bulkAuditFromQuery(ctx, MAILBOX_STATE_AUDIT, MAILBOX_STATES, {
      with: `WITH ${mailboxPlan("?1", "?2", `?${p}`)}`,
      from: `SELECT ${AUDITED_USER_COLUMNS},
                 CASE WHEN p.action = 'create' THEN 0 ELSE ${stateIndexSql("p.state")} END AS oldValue,
                 ${stateIndexSql(newStateSql("p.action"))} AS newValue
               FROM plan p JOIN users u ON u.seq = p.user_seq WHERE p.action IS NOT NULL`,
      params: [list],
    }),
    // One statement moves the existing mailboxes and creates the new ones: a row with the mailbox's seq lands on it
    // (ON CONFLICT), a row without one is a new mailbox (every statement of a batch has its own cost in D1).
    ctx.d1
      .prepare(
        `WITH ${mailboxPlan("?1", "?2", "?3")}
         INSERT INTO mailboxes (seq, tenant_id, user_seq, state, litigation_hold, purge_after, next_purge_at,
             state_changed_at, created_at, updated_at)
         SELECT CASE WHEN p.action = 'create' THEN NULL ELSE p.mailbox_seq END, ?1, p.user_seq, ${newStateSql("p.action")},
           0, CASE p.action WHEN 'disconnect' THEN ?4 END, CASE p.action WHEN 'disconnect' THEN ?4 END, ?2, ?2, ?2
         FROM plan p WHERE p.action IS NOT NULL ORDER BY p.user_seq
         ON CONFLICT (seq) DO UPDATE SET state = excluded.state, purge_after = excluded.purge_after,
           next_purge_at = excluded.next_purge_at, state_changed_at = excluded.state_changed_at,
           updated_at = excluded.updated_at`,
      )
      .bind(ctx.tenantId, ctx.now.toISOString(), list, purgeAfter),
  ];
}

/**
 * The tenant's OneDrive retention in days as SQL (SharePoint's "days to retain files in OneDrive after a user account
 * is marked for deletion"), and the end of a site's retention if its user is deleted at `now`.
 */
const oneDriveDaysSql = (tenant: string) =>
  `(SELECT coalesce(max(onedrive_retention_days), ${windows.oneDriveDefaultDays}) FROM retention_settings WHERE tenant_id = ${tenant})`;
const isoSql = (expression: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${expression})`;

/**
 * rules.oneDriveOutcome in SQL, as mailboxPlan: create (a OneDrive plan and no site, or only a purged one), retain
 * (the user is deleted), restore (the user is back before the retention ends). A retained site whose user comes back
 * after its retention stays as it is until the purge takes it (the rules would give a fresh site; it cannot happen:
 * the recycle bin's 30 days never outlast the OneDrive's 30 or more).
 */
const oneDrivePlan = (tenant: string, now: string, list: string) => `
  c AS (SELECT value ->> 0 AS user_seq, value ->> 1 AS wants, value ->> 2 AS deleted FROM json_each(${list})),
  cur AS (SELECT c.user_seq, c.wants, c.deleted, s.seq AS site_seq, s.state, s.purge_after
          FROM c LEFT JOIN onedrive_sites s
            ON s.seq = (SELECT max(seq) FROM onedrive_sites WHERE user_seq = c.user_seq) AND s.tenant_id = ${tenant}),
  plan AS MATERIALIZED (SELECT user_seq, site_seq, state, CASE
      WHEN site_seq IS NULL THEN CASE WHEN wants THEN 'create' END
      WHEN state = 'Active' THEN CASE WHEN deleted THEN 'retain' END
      WHEN state = 'Retained' THEN CASE WHEN deleted THEN NULL WHEN ${now} < purge_after THEN 'restore' END
      WHEN state = 'Purged' THEN CASE WHEN wants THEN 'create' END
    END AS action FROM cur)`;

const ONEDRIVE_STATES = ["", "Active", "Retained", "Purged"] as const;

/** The OneDrive side of a licensing change or a deletion, for its batch (as mailboxTransitionStatements). */
export function oneDriveTransitionStatements(ctx: Ctx, rows: readonly OneDriveChangeRow[]): D1PreparedStatement[] {
  if (rows.length === 0) return [];
  const list = JSON.stringify(rows);
  const p = BULK_QUERY_FIRST_PARAM;
  return [
    bulkAuditFromQuery(ctx, ONEDRIVE_STATE_AUDIT, ONEDRIVE_STATES, {
      with: `WITH ${oneDrivePlan("?1", "?2", `?${p}`)}`,
      from: `SELECT ${AUDITED_USER_COLUMNS},
                 CASE p.action WHEN 'create' THEN 0 WHEN 'retain' THEN 1 ELSE 2 END AS oldValue,
                 CASE p.action WHEN 'retain' THEN 2 ELSE 1 END AS newValue
               FROM plan p JOIN users u ON u.seq = p.user_seq WHERE p.action IS NOT NULL`,
      params: [list],
    }),
    // As the mailboxes': one statement moves the existing sites and creates the new ones.
    ctx.d1
      .prepare(
        `WITH ${oneDrivePlan("?1", "?2", "?3")}
         INSERT INTO onedrive_sites (seq, tenant_id, user_seq, state, purge_after, created_at, updated_at)
         SELECT CASE WHEN p.action = 'create' THEN NULL ELSE p.site_seq END, ?1, p.user_seq,
           CASE p.action WHEN 'retain' THEN 'Retained' ELSE 'Active' END,
           CASE p.action WHEN 'retain' THEN ${isoSql(`?2, '+' || ${oneDriveDaysSql("?1")} || ' days'`)} END, ?2, ?2
         FROM plan p WHERE p.action IS NOT NULL ORDER BY p.user_seq
         ON CONFLICT (seq) DO UPDATE SET state = excluded.state, purge_after = excluded.purge_after,
           updated_at = excluded.updated_at`,
      )
      .bind(ctx.tenantId, ctx.now.toISOString(), list),
  ];
}

// ---- one user's transitions, decided by the rules in the Worker ----------------------------------------------------

/**
 * What one user's mailbox and OneDrive transitions depend on, as one JSON text: the latest mailbox's state, hold and
 * purgeAfter, the latest OneDrive's state and purgeAfter (nulls where there is none), and the tenant's OneDrive
 * retention in days. Read with the user's licensing and compared again by its write's guard; retentionStateText
 * gives the same text from the values, so the state after a change is known without reading it back.
 */
export const retentionStateSql = (userSeq: string, tenant: string) =>
  `(SELECT json_array(m.state, m.litigation_hold, m.purge_after, s.state, s.purge_after, ${oneDriveDaysSql(tenant)})
    FROM (SELECT 1) LEFT JOIN mailboxes m ON m.seq = (SELECT max(seq) FROM mailboxes WHERE user_seq = ${userSeq})
    LEFT JOIN onedrive_sites s ON s.seq = (SELECT max(seq) FROM onedrive_sites WHERE user_seq = ${userSeq}))`;

/** One user's retention state, as retentionStateSql reads it. */
export type RetentionState = {
  mailbox: Pick<Mailbox, "state" | "litigationHold" | "purgeAfter"> | null;
  oneDrive: OneDriveSite | null;
  oneDriveDays: number;
};

export function parseRetentionState(text: string): RetentionState {
  const [mailboxState, hold, purgeAfter, siteState, sitePurgeAfter, days] = JSON.parse(text) as [
    MailboxState | null,
    number | null,
    string | null,
    OneDriveState | null,
    string | null,
    number,
  ];
  return {
    mailbox: mailboxState === null ? null : { state: mailboxState, litigationHold: hold === 1, purgeAfter },
    oneDrive: siteState === null ? null : { state: siteState, purgeAfter: sitePurgeAfter },
    oneDriveDays: days,
  };
}

/** The text retentionStateSql gives for this state (SQLite's json_array writes what JSON.stringify does). */
export const retentionStateText = ({ mailbox, oneDrive, oneDriveDays }: RetentionState) =>
  JSON.stringify([
    mailbox?.state ?? null,
    mailbox === null ? null : mailbox.litigationHold ? 1 : 0,
    mailbox?.purgeAfter ?? null,
    oneDrive?.state ?? null,
    oneDrive?.purgeAfter ?? null,
    oneDriveDays,
  ]);

/**
 * One user's mailbox move, as the rules decided it: a new Active mailbox, or the latest one moved to `to` (its hold
 * is the rules' own: unchanged by every move).
 */
export function mailboxMoveStatement(
  ctx: Ctx,
  userSeq: number,
  move: { create: true } | { create: false; to: Pick<Mailbox, "state" | "purgeAfter" | "nextPurgeAt"> },
): D1PreparedStatement {
  const now = ctx.now.toISOString();
  if (move.create) {
    return ctx.d1
      .prepare(
        `INSERT INTO mailboxes (tenant_id, user_seq, state, litigation_hold, state_changed_at, created_at, updated_at)
         VALUES (?1, ?2, 'Active', 0, ?3, ?3, ?3)`,
      )
      .bind(ctx.tenantId, userSeq, now);
  }
  return ctx.d1
    .prepare(
      `UPDATE mailboxes SET state = ?3, purge_after = ?4, next_purge_at = ?5, state_changed_at = ?6, updated_at = ?6
       WHERE seq = (SELECT max(seq) FROM mailboxes WHERE user_seq = ?2) AND tenant_id = ?1`,
    )
    .bind(ctx.tenantId, userSeq, move.to.state, move.to.purgeAfter, move.to.nextPurgeAt, now);
}

/** One user's OneDrive move: a new Active site, or the latest one moved to `to`. */
export function oneDriveMoveStatement(
  ctx: Ctx,
  userSeq: number,
  move: { create: true } | { create: false; to: OneDriveSite },
): D1PreparedStatement {
  const now = ctx.now.toISOString();
  if (move.create) {
    return ctx.d1
      .prepare(
        `INSERT INTO onedrive_sites (tenant_id, user_seq, state, created_at, updated_at) VALUES (?1, ?2, 'Active', ?3, ?3)`,
      )
      .bind(ctx.tenantId, userSeq, now);
  }
  return ctx.d1
    .prepare(
      `UPDATE onedrive_sites SET state = ?3, purge_after = ?4, updated_at = ?5
       WHERE seq = (SELECT max(seq) FROM onedrive_sites WHERE user_seq = ?2) AND tenant_id = ?1`,
    )
    .bind(ctx.tenantId, userSeq, move.to.state, move.to.purgeAfter, now);
}

// ---- mailboxes ------------------------------------------------------------------------------------------------------

/** A mailbox as stored, with its user's id. */
export type MailboxRow = Mailbox & {
  seq: number;
  userSeq: number;
  userId: string;
  itemCount: number;
  sizeBytes: number;
  stateChangedAt: string;
};

const mailboxColumns = `m.seq, m.user_seq AS userSeq, (SELECT id FROM users WHERE seq = m.user_seq) AS userId, m.state,
  m.litigation_hold AS litigationHold, m.purge_after AS purgeAfter, m.next_purge_at AS nextPurgeAt,
  m.item_count AS itemCount, m.size_bytes AS sizeBytes, m.state_changed_at AS stateChangedAt`;

const toMailbox = (r: Record<string, unknown>): MailboxRow => ({
  seq: Number(r.seq),
  userSeq: Number(r.userSeq),
  userId: String(r.userId),
  state: r.state as MailboxState,
  litigationHold: r.litigationHold === 1 || r.litigationHold === true,
  purgeAfter: (r.purgeAfter as string | null) ?? null,
  nextPurgeAt: (r.nextPurgeAt as string | null) ?? null,
  itemCount: Number(r.itemCount),
  sizeBytes: Number(r.sizeBytes),
  stateChangedAt: String(r.stateChangedAt),
});

/**
 * The user a mailbox request names: by id any user of the tenant, deleted or not (an inactive mailbox outlives its
 * user); by userPrincipalName the live user holding it, else the latest deleted one that held it.
 */
const userSeqOfRefSql = (ref: string) =>
  isGuid(ref)
    ? "SELECT seq FROM users WHERE tenant_id = ?1 AND id = ?2"
    : `SELECT seq FROM users WHERE tenant_id = ?1 AND user_principal_name = ?2
       ORDER BY deleted_at IS NOT NULL, hard_deleted_at IS NOT NULL, seq DESC LIMIT 1`;

/** The user a mailbox belongs to, as audit rows name them. */
export type MailboxUser = { seq: number; id: string; displayName: string; userPrincipalName: string };

/** A user's current mailbox (their latest); user null when there is no such user, mailbox null when no mailbox. */
export async function readMailboxOf(
  ctx: Ctx,
  userRef: string,
): Promise<{ user: MailboxUser | null; mailbox: MailboxRow | null }> {
  const row = await ctx.d1
    .prepare(
      `WITH who AS (${userSeqOfRefSql(userRef)})
       SELECT u.seq AS whoSeq, u.id AS whoId, u.display_name AS whoName, u.user_principal_name AS whoUpn, ${mailboxColumns}
       FROM who JOIN users u ON u.seq = who.seq LEFT JOIN mailboxes m
         ON m.seq = (SELECT max(seq) FROM mailboxes WHERE user_seq = who.seq)`,
    )
    .bind(ctx.tenantId, userRef.toLowerCase())
    .first<Record<string, unknown>>();
  if (!row) return { user: null, mailbox: null };
  const user = {
    seq: Number(row.whoSeq),
    id: String(row.whoId),
    displayName: String(row.whoName),
    userPrincipalName: String(row.whoUpn),
  };
  return { user, mailbox: row.seq === null ? null : toMailbox(row) };
}

/** The latest mailbox of each of these users (the rules' `current`), by user seq. */
export async function latestMailboxes(ctx: Ctx, userSeqs: readonly number[]): Promise<Map<number, MailboxRow>> {
  if (userSeqs.length === 0) return new Map();
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${mailboxColumns} FROM json_each(?2) AS j CROSS JOIN mailboxes m
         ON m.seq = (SELECT max(seq) FROM mailboxes WHERE user_seq = j.value) WHERE m.tenant_id = ?1`,
    )
    .bind(ctx.tenantId, JSON.stringify(userSeqs))
    .all<Record<string, unknown>>();
  return new Map(results.map((r) => [Number(r.userSeq), toMailbox(r)]));
}

export type MailboxListQuery = {
  state?: MailboxState | undefined;
  litigationHold?: boolean | undefined;
  top: number;
  /** The keyset cursor: the last mailbox seq shown. */
  after?: number | undefined;
};

/** A page of the tenant's mailboxes in seq order (top + 1 rows, so the caller knows whether there is more). */
export async function listMailboxes(ctx: Ctx, query: MailboxListQuery): Promise<MailboxRow[]> {
  const where = ["m.tenant_id = ?1", "m.seq > ?2"];
  const params: unknown[] = [ctx.tenantId, query.after ?? 0, query.top + 1];
  // Spelled as the partial indexes are, so SQLite uses them (mailboxes_tenant_hold, mailboxes_tenant_state).
  if (query.litigationHold === true) where.push("m.litigation_hold = 1");
  if (query.litigationHold === false) where.push("m.litigation_hold = 0");
  if (query.state) {
    params.push(query.state);
    where.push(`m.state = ?${params.length}`);
  }
  const { results } = await ctx.d1
    .prepare(`SELECT ${mailboxColumns} FROM mailboxes m WHERE ${where.join(" AND ")} ORDER BY m.seq LIMIT ?3`)
    .bind(...params)
    .all<Record<string, unknown>>();
  return results.map(toMailbox);
}

/** An item as the API shows it. */
export type MailboxItemRow = {
  itemSeq: number;
  subject: string;
  sizeBytes: number;
  receivedAt: string;
  labelId: string | null;
  labeledAt: string | null;
  retainedUntil: string | null;
};

const itemColumns = `i.item_seq AS itemSeq, i.subject, i.size_bytes AS sizeBytes, i.received_at AS receivedAt,
  (SELECT id FROM retention_labels WHERE seq = i.label_seq) AS labelId, i.labeled_at AS labeledAt,
  i.retained_until AS retainedUntil`;

export type NewItem = { subject: string; sizeBytes: number; receivedAt: string; label: LabelRow | null };

/**
 * Mail arriving in an Active mailbox: the item seqs are allocated by the mailbox's counter in the same batch (the
 * guard fails the batch if the mailbox is no longer Active), the counters move with the items.
 */
export function addItemsStatements(
  ctx: Ctx,
  mailboxSeq: number,
  items: readonly (NewItem & { retainedUntil: string | null })[],
): D1PreparedStatement[] {
  const bytes = items.reduce((n, i) => n + i.sizeBytes, 0);
  return [
    ctx.d1
      .prepare(
        `UPDATE mailboxes SET last_item_seq = last_item_seq + ?3, item_count = item_count + ?3,
           size_bytes = size_bytes + ?4, updated_at = ?5
         WHERE tenant_id = ?1 AND seq = ?2 AND state = 'Active'`,
      )
      .bind(ctx.tenantId, mailboxSeq, items.length, bytes, ctx.now.toISOString()),
    ctx.d1.prepare(guardSql("changes() = 1")),
    ctx.d1
      .prepare(
        `INSERT INTO mailbox_items (mailbox_seq, item_seq, subject, size_bytes, received_at, label_seq, labeled_at,
           retained_until)
         SELECT ?1, (SELECT last_item_seq FROM mailboxes WHERE seq = ?1) - ?2 + key + 1, value ->> 0, value ->> 1,
           value ->> 2, value ->> 3, CASE WHEN value ->> 3 IS NULL THEN NULL ELSE ?3 END, value ->> 4
         FROM json_each(?4)
         RETURNING item_seq AS itemSeq`,
      )
      .bind(
        mailboxSeq,
        items.length,
        ctx.now.toISOString(),
        JSON.stringify(items.map((i) => [i.subject, i.sizeBytes, i.receivedAt, i.label?.seq ?? null, i.retainedUntil])),
      ),
  ];
}

/** A page of a mailbox's items in item order (top + 1 rows). */
export async function listItems(ctx: Ctx, mailboxSeq: number, top: number, after: number) {
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${itemColumns} FROM mailbox_items i WHERE i.mailbox_seq = ?1 AND i.item_seq > ?2 ORDER BY i.item_seq
       LIMIT ?3`,
    )
    .bind(mailboxSeq, after, top + 1)
    .all<MailboxItemRow>();
  return results;
}

/** The items of a mailbox with these seqs (those that exist), as applying a label needs them. */
export async function findItems(ctx: Ctx, mailboxSeq: number, itemSeqs: readonly number[]) {
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${itemColumns} FROM json_each(?2) AS j CROSS JOIN mailbox_items i
         ON i.mailbox_seq = ?1 AND i.item_seq = j.value`,
    )
    .bind(mailboxSeq, JSON.stringify(itemSeqs))
    .all<MailboxItemRow>();
  return results;
}

/**
 * Labels items (or takes their label off): each item's retained_until is given (rules.retainedUntil of its received
 * date). A disconnected mailbox's next purge moves back to its purgeAfter (rules.afterRetentionChange), so the purge
 * looks again; guarded on the mailbox still being the one read (not purged meanwhile).
 */
export function labelItemsStatements(
  ctx: Ctx,
  mailboxSeq: number,
  label: LabelRow | null,
  items: readonly { itemSeq: number; retainedUntil: string | null }[],
): D1PreparedStatement[] {
  return [
    ctx.d1
      .prepare(
        `UPDATE mailboxes SET next_purge_at = CASE WHEN state = 'Disconnected' THEN purge_after ELSE next_purge_at END,
           updated_at = ?3
         WHERE tenant_id = ?1 AND seq = ?2 AND state <> 'Purged'`,
      )
      .bind(ctx.tenantId, mailboxSeq, ctx.now.toISOString()),
    ctx.d1.prepare(guardSql("changes() = 1")),
    ctx.d1
      .prepare(
        `UPDATE mailbox_items SET label_seq = ?2, labeled_at = CASE WHEN ?2 IS NULL THEN NULL ELSE ?3 END,
           retained_until = (SELECT value ->> 1 FROM json_each(?4) WHERE value ->> 0 = mailbox_items.item_seq)
         WHERE mailbox_seq = ?1 AND item_seq IN (SELECT value ->> 0 FROM json_each(?4))`,
      )
      .bind(
        mailboxSeq,
        label?.seq ?? null,
        ctx.now.toISOString(),
        JSON.stringify(items.map((i) => [i.itemSeq, i.retainedUntil])),
      ),
  ];
}

/** Places or releases a litigation hold, guarded on the state it was decided from. */
export function setHoldStatements(ctx: Ctx, before: MailboxRow, after: Mailbox): D1PreparedStatement[] {
  const now = ctx.now.toISOString();
  return [
    ctx.d1
      .prepare(
        `UPDATE mailboxes SET litigation_hold = ?4, litigation_hold_since = CASE WHEN ?4 THEN ?6 END, state = ?5,
           purge_after = ?7, next_purge_at = ?8, state_changed_at = CASE WHEN state = ?5 THEN state_changed_at ELSE ?6 END,
           updated_at = ?6
         WHERE tenant_id = ?1 AND seq = ?2 AND state = ?3 AND litigation_hold = ?9`,
      )
      .bind(
        ctx.tenantId,
        before.seq,
        before.state,
        after.litigationHold ? 1 : 0,
        after.state,
        now,
        after.purgeAfter,
        after.nextPurgeAt,
        before.litigationHold ? 1 : 0,
      ),
    ctx.d1.prepare(guardSql("changes() = 1")),
  ];
}

// ---- labels ---------------------------------------------------------------------------------------------------------

export type LabelRow = {
  seq: number;
  id: string;
  name: string;
  retentionDays: number;
  createdAt: string;
  /** Items carrying the label (listing only). */
  items?: number;
};

const labelColumns = "l.seq, l.id, l.name, l.retention_days AS retentionDays, l.created_at AS createdAt";

export async function listLabels(ctx: Ctx): Promise<LabelRow[]> {
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${labelColumns}, (SELECT count(*) FROM mailbox_items WHERE label_seq = l.seq) AS items
       FROM retention_labels l WHERE l.tenant_id = ?1 ORDER BY l.name`,
    )
    .bind(ctx.tenantId)
    .all<LabelRow>();
  return results;
}

/**
 * The tenant's labels of these ids, in one statement (ids it does not hold are simply absent), without their item
 * counts: mail delivery and labelling read them, and a count walks every item the label carries.
 */
export async function findLabels(ctx: Ctx, ids: readonly string[]): Promise<LabelRow[]> {
  if (ids.length === 0) return [];
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${labelColumns} FROM retention_labels l WHERE l.tenant_id = ?1 AND l.id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(ctx.tenantId, JSON.stringify(ids))
    .all<LabelRow>();
  return results;
}

export async function findLabel(ctx: Ctx, id: string): Promise<LabelRow | null> {
  return ctx.d1
    .prepare(
      `SELECT ${labelColumns}, (SELECT count(*) FROM mailbox_items WHERE label_seq = l.seq) AS items
       FROM retention_labels l WHERE l.tenant_id = ?1 AND l.id = ?2`,
    )
    .bind(ctx.tenantId, id)
    .first<LabelRow>();
}

export const insertLabelStatement = (ctx: Ctx, label: Omit<LabelRow, "seq">) =>
  ctx.d1
    .prepare(
      `INSERT INTO retention_labels (id, tenant_id, name, retention_days, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING seq`,
    )
    .bind(label.id, ctx.tenantId, label.name, label.retentionDays, label.createdAt);

/** Deletes a label no item carries (the guard fails the batch if one does by then). */
export const deleteLabelStatements = (ctx: Ctx, label: LabelRow): D1PreparedStatement[] => [
  ctx.d1.prepare(guardSql("NOT EXISTS (SELECT 1 FROM mailbox_items WHERE label_seq = ?1)")).bind(label.seq),
  ctx.d1.prepare("DELETE FROM retention_labels WHERE tenant_id = ?1 AND seq = ?2").bind(ctx.tenantId, label.seq),
];

// ---- OneDrive and settings ------------------------------------------------------------------------------------------

export type OneDriveRow = { userId: string; state: OneDriveState; purgeAfter: string | null; createdAt: string };

/** A user's current OneDrive (their latest site). */
export async function readOneDriveOf(ctx: Ctx, userRef: string) {
  const row = await ctx.d1
    .prepare(
      `WITH who AS (${userSeqOfRefSql(userRef)})
       SELECT who.seq AS whoSeq, (SELECT id FROM users WHERE seq = who.seq) AS userId, s.state,
         s.purge_after AS purgeAfter, s.created_at AS createdAt
       FROM who LEFT JOIN onedrive_sites s ON s.seq = (SELECT max(seq) FROM onedrive_sites WHERE user_seq = who.seq)`,
    )
    .bind(ctx.tenantId, userRef.toLowerCase())
    .first<Record<string, unknown>>();
  if (!row) return { found: false as const, site: null };
  return {
    found: true as const,
    site:
      row.state === null
        ? null
        : ({
            userId: String(row.userId),
            state: row.state as OneDriveState,
            purgeAfter: (row.purgeAfter as string | null) ?? null,
            createdAt: String(row.createdAt),
          } satisfies OneDriveRow),
  };
}

export type RetentionSettings = { oneDriveRetentionDays: number };

export async function readSettings(ctx: Ctx): Promise<RetentionSettings> {
  const row = await ctx.d1
    .prepare("SELECT onedrive_retention_days AS days FROM retention_settings WHERE tenant_id = ?1")
    .bind(ctx.tenantId)
    .first<{ days: number }>();
  return { oneDriveRetentionDays: row?.days ?? 30 };
}

export const writeSettingsStatement = (ctx: Ctx, settings: RetentionSettings) =>
  ctx.d1
    .prepare(
      `INSERT INTO retention_settings (tenant_id, onedrive_retention_days, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (tenant_id) DO UPDATE SET onedrive_retention_days = excluded.onedrive_retention_days,
         updated_at = excluded.updated_at`,
    )
    .bind(ctx.tenantId, settings.oneDriveRetentionDays, ctx.now.toISOString());
