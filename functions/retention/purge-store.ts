/**
 * The purge as stored: its runs (the ledger, one row per run sharing its job's id), the page reads and set-based page
 * writes of its three phases (mailboxes past their window, retained OneDrives, users 30 days in the recycle bin), and
 * the read-only preview. Every write re-checks, in its own statement, that what it touches is still due and not held,
 * so a mailbox reconnected or put on hold since the page was read is left alone whatever the timing.
 */
import { auditWithDetailsFromQuery, BULK_QUERY_FIRST_PARAM, bulkAuditFromQuery } from "../audit/store.ts";
import type { Ctx } from "../core/context.ts";
import { hardDeleteUsersStatements } from "../directory/store.ts";
import { AUDITED_USER_COLUMNS, MAILBOX_STATE_AUDIT, ONEDRIVE_STATE_AUDIT } from "./store.ts";

// ---- runs (the ledger) --------------------------------------------------------------------------------------------

export type PurgeTrigger = "scheduled" | "api";

export type LedgerRow = {
  id: string;
  trigger: PurgeTrigger;
  dryRun: boolean;
  asOf: string;
  state: "Running" | "Complete";
  startedAt: string;
  finishedAt: string | null;
  mailboxes: number;
  mailboxesPurged: number;
  itemsPurged: number;
  bytesPurged: number;
  oneDriveSitesPurged: number;
  usersDeleted: number;
  held: {
    litigationHold: { mailboxes: number; items: number; bytes: number };
    inactiveMailbox: { mailboxes: number; items: number; bytes: number };
  };
  labels: { labelId: string | null; name: string | null; items: number; bytes: number }[];
};

const ledgerColumns = `p.id, p.trigger, p.dry_run AS dryRun, p.as_of AS asOf, p.state, p.started_at AS startedAt,
  p.finished_at AS finishedAt, p.mailboxes, p.mailboxes_purged AS mailboxesPurged, p.items_purged AS itemsPurged,
  p.bytes_purged AS bytesPurged, p.onedrive_sites_purged AS oneDriveSitesPurged, p.users_deleted AS usersDeleted,
  p.held_by_litigation_hold AS lhMailboxes, p.held_by_litigation_hold_items AS lhItems,
  p.held_by_litigation_hold_bytes AS lhBytes, p.inactive_mailboxes AS inMailboxes, p.inactive_items AS inItems,
  p.inactive_bytes AS inBytes,
  (SELECT json_group_array(json_array(l.id, l.name, pl.items, pl.bytes)) FROM purge_ledger_labels pl
     LEFT JOIN retention_labels l ON l.seq = pl.label_seq WHERE pl.ledger_id = p.id) AS labels`;

function toLedger(r: Record<string, unknown>): LedgerRow {
  const n = (key: string) => Number(r[key] ?? 0);
  return {
    id: String(r.id),
    trigger: r.trigger as PurgeTrigger,
    dryRun: r.dryRun === 1,
    asOf: String(r.asOf),
    state: r.state as LedgerRow["state"],
    startedAt: String(r.startedAt),
    finishedAt: (r.finishedAt as string | null) ?? null,
    mailboxes: n("mailboxes"),
    mailboxesPurged: n("mailboxesPurged"),
    itemsPurged: n("itemsPurged"),
    bytesPurged: n("bytesPurged"),
    oneDriveSitesPurged: n("oneDriveSitesPurged"),
    usersDeleted: n("usersDeleted"),
    held: {
      litigationHold: { mailboxes: n("lhMailboxes"), items: n("lhItems"), bytes: n("lhBytes") },
      inactiveMailbox: { mailboxes: n("inMailboxes"), items: n("inItems"), bytes: n("inBytes") },
    },
    labels: (JSON.parse(String(r.labels ?? "[]")) as [string | null, string | null, number, number][])
      .map(([labelId, name, items, bytes]) => ({ labelId, name, items, bytes }))
      .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "")),
  };
}

/** A run's ledger row: Running, its counters at zero, its clock `asOf` fixed for every page. */
export const insertRunStatement = (
  ctx: Ctx,
  run: { id: string; trigger: PurgeTrigger; dryRun: boolean; asOf: string },
) =>
  ctx.d1
    .prepare(
      `INSERT INTO purge_ledger (id, tenant_id, trigger, dry_run, as_of, state, started_at)
       VALUES (?1, ?2, ?3, ?4, ?5, 'Running', ?6)`,
    )
    .bind(run.id, ctx.tenantId, run.trigger, run.dryRun ? 1 : 0, run.asOf, ctx.now.toISOString());

export async function readRun(ctx: Pick<Ctx, "d1" | "tenantId">, id: string): Promise<LedgerRow | null> {
  const row = await ctx.d1
    .prepare(`SELECT ${ledgerColumns} FROM purge_ledger p WHERE p.tenant_id = ?1 AND p.id = ?2`)
    .bind(ctx.tenantId, id)
    .first<Record<string, unknown>>();
  return row ? toLedger(row) : null;
}

/** The tenant's scheduled run at this clock, if there is one (the daily run's key: purge_ledger_scheduled). */
export async function findScheduledRun(ctx: Pick<Ctx, "d1" | "tenantId">, asOf: string): Promise<LedgerRow | null> {
  const row = await ctx.d1
    .prepare(
      `SELECT ${ledgerColumns} FROM purge_ledger p WHERE p.tenant_id = ?1 AND p.as_of = ?2 AND p.trigger = 'scheduled'`,
    )
    .bind(ctx.tenantId, asOf)
    .first<Record<string, unknown>>();
  return row ? toLedger(row) : null;
}

/** A page of the tenant's runs, newest first (top + 1 rows); the cursor is the last run's start and id. */
export async function listRuns(ctx: Ctx, top: number, before?: { startedAt: string; id: string }) {
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${ledgerColumns} FROM purge_ledger p WHERE p.tenant_id = ?1
         ${before ? "AND (p.started_at < ?3 OR (p.started_at = ?3 AND p.id < ?4))" : ""}
       ORDER BY p.started_at DESC, p.id DESC LIMIT ?2`,
    )
    .bind(ctx.tenantId, top + 1, ...(before ? [before.startedAt, before.id] : []))
    .all<Record<string, unknown>>();
  return results.map(toLedger);
}

/**
 * The tenants the daily run has work for at `asOf`: a mailbox past its window (held or not: the ledger says what
 * holds blocked), an inactive mailbox, a retained OneDrive past its date, a user 30 days in the recycle bin.
 */
export async function tenantsWithRetentionWork(d1: D1Database, asOf: string, deletedBy: string): Promise<string[]> {
  const { results } = await d1
    .prepare(
      `SELECT t.id FROM tenants t WHERE
         EXISTS (SELECT 1 FROM mailboxes m WHERE m.tenant_id = t.id AND m.state = 'Disconnected' AND m.purge_after <= ?1)
         OR EXISTS (SELECT 1 FROM mailboxes m WHERE m.tenant_id = t.id AND m.state = 'Inactive')
         OR EXISTS (SELECT 1 FROM onedrive_sites s WHERE s.tenant_id = t.id AND s.state = 'Retained' AND s.purge_after <= ?1)
         OR EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = t.id AND u.deleted_at IS NOT NULL AND u.hard_deleted_at IS NULL
                    AND u.deleted_at <= ?2)
       ORDER BY t.id`,
    )
    .bind(asOf, deletedBy)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** At the start of a run: what holds keep whole (held mailboxes past their window, inactive mailboxes), from counters. */
export const heldSummaryStatement = (ctx: Ctx, runId: string, asOf: string) =>
  ctx.d1
    .prepare(
      `UPDATE purge_ledger SET
         (held_by_litigation_hold, held_by_litigation_hold_items, held_by_litigation_hold_bytes) =
           (SELECT count(*), coalesce(sum(item_count), 0), coalesce(sum(size_bytes), 0) FROM mailboxes
            WHERE tenant_id = ?1 AND litigation_hold = 1 AND state = 'Disconnected' AND purge_after <= ?3),
         (inactive_mailboxes, inactive_items, inactive_bytes) =
           (SELECT count(*), coalesce(sum(item_count), 0), coalesce(sum(size_bytes), 0) FROM mailboxes
            WHERE tenant_id = ?1 AND litigation_hold = 1 AND state = 'Inactive')
       WHERE id = ?2`,
    )
    .bind(ctx.tenantId, runId, asOf);

/** At the end: the run is Complete (finished no earlier than its clock), with an audit row of its totals. */
export const finishRunStatements = (ctx: Ctx, runId: string): D1PreparedStatement[] => [
  ctx.d1
    .prepare("UPDATE purge_ledger SET state = 'Complete', finished_at = max(started_at, ?2) WHERE id = ?1")
    .bind(runId, new Date().toISOString()),
  auditWithDetailsFromQuery(
    ctx,
    {
      activity: "Run retention purge",
      category: "Policy",
      operationType: "Delete",
      targets: [{ id: runId, displayName: "Retention purge", type: "Other" }],
    },
    {
      sql: `SELECT json_array(
          json_object('key', 'AsOf', 'value', as_of), json_object('key', 'DryRun', 'value', CASE dry_run WHEN 1 THEN 'true' ELSE 'false' END),
          json_object('key', 'Mailboxes', 'value', CAST(mailboxes AS TEXT)),
          json_object('key', 'MailboxesPurged', 'value', CAST(mailboxes_purged AS TEXT)),
          json_object('key', 'ItemsPurged', 'value', CAST(items_purged AS TEXT)),
          json_object('key', 'BytesPurged', 'value', CAST(bytes_purged AS TEXT)),
          json_object('key', 'OneDriveSitesPurged', 'value', CAST(onedrive_sites_purged AS TEXT)),
          json_object('key', 'UsersDeleted', 'value', CAST(users_deleted AS TEXT)),
          json_object('key', 'HeldByLitigationHold', 'value', CAST(held_by_litigation_hold AS TEXT)),
          json_object('key', 'InactiveMailboxes', 'value', CAST(inactive_mailboxes AS TEXT)))
        FROM purge_ledger WHERE id = ?${BULK_QUERY_FIRST_PARAM}`,
      params: [runId],
    },
  ),
];

// ---- the mailbox phase ---------------------------------------------------------------------------------------------

/**
 * A unit of a page: a mailbox's items after `lo` (an item seq; 0 from the start) up to `hi` (null: to the end). A
 * mailbox larger than a page is walked in units of at most a page's items; the mailbox is done with its last.
 */
export type PurgeUnit = { seq: number; lo: number; hi: number | null };

/** A due mailbox as the page read finds it: its item count, and where a page's worth of its items ends if it is big. */
export type DueMailbox = { seq: number; items: number; boundary: number | null };

/**
 * The next due mailboxes from `start` (a mailbox seq; `floor` the item seq its first one is done up to), walked on the
 * covering partial index mailboxes_purge_due, cut where their items pass `itemBudget` (the one that passes it comes
 * along, with the item seq where `itemBudget` of its items after the floor end, if it has more).
 */
export function dueMailboxesStatement(
  ctx: Ctx,
  asOf: string,
  start: number,
  floor: number,
  maxMailboxes: number,
  itemBudget: number,
) {
  return ctx.d1
    .prepare(
      `WITH due AS (SELECT seq, item_count FROM mailboxes
                    WHERE tenant_id = ?1 AND state = 'Disconnected' AND litigation_hold = 0 AND seq >= ?2
                      AND next_purge_at <= ?3
                    ORDER BY seq LIMIT ?4),
         run AS (SELECT seq, item_count, sum(item_count) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) - item_count AS before
                 FROM due)
       SELECT seq, item_count AS items,
         CASE WHEN item_count > ?5 THEN (SELECT item_seq FROM mailbox_items WHERE mailbox_seq = run.seq
           AND item_seq > CASE WHEN run.seq = ?2 THEN ?6 ELSE 0 END ORDER BY item_seq LIMIT 1 OFFSET ?5 - 1) END AS boundary
       FROM run WHERE before < ?5 ORDER BY seq`,
    )
    .bind(ctx.tenantId, start, asOf, maxMailboxes, itemBudget, floor);
}

export const toDueMailboxes = (result: D1Result | undefined): DueMailbox[] =>
  ((result?.results ?? []) as { seq: number; items: number; boundary: number | null }[]).map((r) => ({
    seq: Number(r.seq),
    items: Number(r.items),
    boundary: r.boundary === null ? null : Number(r.boundary),
  }));

/**
 * The page's units that are still due at write time (tenant, Disconnected, no hold, past purgeAfter and next purge):
 * every statement of the page works from this, never from the list as read.
 */
const unitsSql = (tenant: string, asOf: string, list: string) => `
  units AS MATERIALIZED (SELECT m.seq, j.value ->> 1 AS lo, j.value ->> 2 AS hi FROM json_each(${list}) AS j
    CROSS JOIN mailboxes m ON m.seq = j.value ->> 0
    WHERE m.tenant_id = ${tenant} AND m.state = 'Disconnected' AND m.litigation_hold = 0
      AND m.purge_after <= ${asOf} AND m.next_purge_at <= ${asOf}),
  unit_items AS (SELECT i.* FROM units u CROSS JOIN mailbox_items i
    ON i.mailbox_seq = u.seq AND i.item_seq > u.lo AND (u.hi IS NULL OR i.item_seq <= u.hi))`;

/** An item no label keeps at `asOf` (rules.itemKept's negation: no label, or its keep ended). */
const deletable = (asOf: string) => `(retained_until IS NULL OR retained_until <= ${asOf})`;

/** The mailboxes among the done units (their last) with nothing kept left at `asOf`: Purged by this page. */
const emptiedSql = (asOf: string, dryRun: boolean) =>
  `SELECT u.seq FROM units u WHERE u.hi IS NULL AND NOT EXISTS (SELECT 1 FROM mailbox_items i WHERE i.mailbox_seq = u.seq
     ${dryRun ? `AND NOT ${deletable(asOf)}` : ""})`;

/**
 * A page of the mailbox phase: the ledger's label keeps and counters (counted before the delete), the delete of every
 * item no label keeps, the mailboxes emptied marked Purged (with their audit entries), and each done mailbox's
 * counters and next purge recounted from what is left. A dry run counts alone.
 */
export function purgeMailboxPageStatements(
  ctx: Ctx,
  run: { id: string; asOf: string; dryRun: boolean },
  units: readonly PurgeUnit[],
): D1PreparedStatement[] {
  const list = JSON.stringify(units.map((u) => [u.seq, u.lo, u.hi]));
  const { d1, tenantId } = ctx;
  const now = ctx.now.toISOString();
  const withUnits = (tenant: string, asOf: string, listParam: string) => `WITH ${unitsSql(tenant, asOf, listParam)}`;
  const statements: D1PreparedStatement[] = [
    d1
      .prepare(
        `${withUnits("?1", "?2", "?3")}
         INSERT INTO purge_ledger_labels (ledger_id, label_seq, items, bytes)
         SELECT ?4, label_seq, count(*), sum(size_bytes) FROM unit_items WHERE NOT ${deletable("?2")} GROUP BY label_seq
         ON CONFLICT (ledger_id, label_seq) DO UPDATE SET items = items + excluded.items, bytes = bytes + excluded.bytes`,
      )
      .bind(tenantId, run.asOf, list, run.id),
    d1
      .prepare(
        `${withUnits("?1", "?2", "?3")}
         UPDATE purge_ledger SET mailboxes = mailboxes + (SELECT count(*) FROM units WHERE lo = 0),
           (items_purged, bytes_purged, mailboxes_purged) = (SELECT purge_ledger.items_purged + count(*),
              purge_ledger.bytes_purged + coalesce(sum(size_bytes), 0),
              purge_ledger.mailboxes_purged + (SELECT count(*) FROM (${emptiedSql("?2", true)}))
            FROM unit_items WHERE ${deletable("?2")})
         WHERE id = ?4`,
      )
      .bind(tenantId, run.asOf, list, run.id),
  ];
  if (run.dryRun) return statements;
  const p = BULK_QUERY_FIRST_PARAM;
  statements.push(
    d1
      .prepare(
        `${withUnits("?1", "?2", "?3")}
         DELETE FROM mailbox_items WHERE mailbox_seq IN (SELECT seq FROM units WHERE lo = 0 AND hi IS NULL)
           AND ${deletable("?2")}`,
      )
      .bind(tenantId, run.asOf, list),
  );
  // A mailbox walked in parts: its part, by item range (at most one or two a page).
  for (const u of units.filter((x) => x.lo !== 0 || x.hi !== null)) {
    statements.push(
      d1
        .prepare(
          `${withUnits("?1", "?2", "?3")}
           DELETE FROM mailbox_items WHERE mailbox_seq = ?4 AND item_seq > ?5 AND (?6 IS NULL OR item_seq <= ?6)
             AND mailbox_seq IN (SELECT seq FROM units) AND ${deletable("?2")}`,
        )
        .bind(tenantId, run.asOf, list, u.seq, u.lo, u.hi),
    );
  }
  statements.push(
    bulkAuditFromQuery(ctx, MAILBOX_STATE_AUDIT, ["Disconnected", "Purged"], {
      with: withUnits("?1", `?${p + 1}`, `?${p}`),
      from: `SELECT ${AUDITED_USER_COLUMNS},
                 0 AS oldValue, 1 AS newValue
               FROM (${emptiedSql(`?${p + 1}`, false)}) e JOIN mailboxes m ON m.seq = e.seq JOIN users u ON u.seq = m.user_seq`,
      params: [list, run.asOf],
    }),
    d1
      .prepare(
        `${withUnits("?1", "?2", "?3")}
         UPDATE mailboxes SET
           item_count = (SELECT count(*) FROM mailbox_items i WHERE i.mailbox_seq = mailboxes.seq),
           size_bytes = (SELECT coalesce(sum(size_bytes), 0) FROM mailbox_items i WHERE i.mailbox_seq = mailboxes.seq),
           next_purge_at = CASE WHEN (SELECT hi FROM units WHERE units.seq = mailboxes.seq) IS NULL
             THEN (SELECT min(retained_until) FROM mailbox_items i WHERE i.mailbox_seq = mailboxes.seq) ELSE next_purge_at END,
           state = CASE WHEN seq IN (${emptiedSql("?2", false)}) THEN 'Purged' ELSE state END,
           state_changed_at = CASE WHEN seq IN (${emptiedSql("?2", false)}) THEN ?4 ELSE state_changed_at END,
           updated_at = ?4
         WHERE seq IN (SELECT seq FROM units)`,
      )
      .bind(tenantId, run.asOf, list, now),
  );
  return statements;
}

// ---- the OneDrive and recycle-bin phases -----------------------------------------------------------------------------

/** The next retained OneDrives past their date, in seq order, on onedrive_sites_purge_due. */
export const dueOneDrivesStatement = (ctx: Ctx, asOf: string, after: number, limit: number) =>
  ctx.d1
    .prepare(
      `SELECT seq FROM onedrive_sites WHERE tenant_id = ?1 AND state = 'Retained' AND seq > ?2 AND purge_after <= ?3
       ORDER BY seq LIMIT ?4`,
    )
    .bind(ctx.tenantId, after, asOf, limit);

/** The OneDrives of the page still retained and past their date become Purged (their content is the site's concern). */
export function purgeOneDrivePageStatements(
  ctx: Ctx,
  run: { id: string; asOf: string; dryRun: boolean },
  seqs: readonly number[],
): D1PreparedStatement[] {
  const list = JSON.stringify(seqs);
  const due = (tenant: string, asOf: string, listParam: string) =>
    `SELECT s.seq, s.user_seq FROM json_each(${listParam}) AS j CROSS JOIN onedrive_sites s ON s.seq = j.value
     WHERE s.tenant_id = ${tenant} AND s.state = 'Retained' AND s.purge_after <= ${asOf}`;
  const count = ctx.d1
    .prepare(
      `UPDATE purge_ledger SET onedrive_sites_purged = onedrive_sites_purged + (SELECT count(*) FROM (${due("?1", "?2", "?3")}))
       WHERE id = ?4`,
    )
    .bind(ctx.tenantId, run.asOf, list, run.id);
  if (run.dryRun) return [count];
  const p = BULK_QUERY_FIRST_PARAM;
  return [
    count,
    bulkAuditFromQuery(ctx, ONEDRIVE_STATE_AUDIT, ["Retained", "Purged"], {
      from: `SELECT ${AUDITED_USER_COLUMNS},
                 0 AS oldValue, 1 AS newValue FROM (${due("?1", `?${p + 1}`, `?${p}`)}) d JOIN users u ON u.seq = d.user_seq`,
      params: [list, run.asOf],
    }),
    ctx.d1
      .prepare(
        `UPDATE onedrive_sites SET state = 'Purged', updated_at = ?4
         WHERE seq IN (SELECT seq FROM (${due("?1", "?2", "?3")}))`,
      )
      .bind(ctx.tenantId, run.asOf, list, ctx.now.toISOString()),
  ];
}

/** The next users of the recycle bin deleted at or before `deletedBy`, in seq order, on users_tenant_deleted. */
export const dueDeletedUsersStatement = (ctx: Ctx, deletedBy: string, after: number, limit: number) =>
  ctx.d1
    .prepare(
      `SELECT seq FROM users WHERE tenant_id = ?1 AND deleted_at IS NOT NULL AND hard_deleted_at IS NULL
         AND deleted_at <= ?2 AND seq > ?3 ORDER BY seq LIMIT ?4`,
    )
    .bind(ctx.tenantId, deletedBy, after, limit);

/** The page's users still in the recycle bin and due are deleted permanently (directory's statements), and counted. */
export function purgeUsersPageStatements(
  ctx: Ctx,
  run: { id: string; dryRun: boolean },
  seqs: readonly number[],
  deletedBy: string,
): D1PreparedStatement[] {
  const count = ctx.d1
    .prepare(
      `UPDATE purge_ledger SET users_deleted = users_deleted + (SELECT count(*) FROM json_each(?2) AS j
         CROSS JOIN users u ON u.seq = j.value WHERE u.tenant_id = ?1 AND u.deleted_at IS NOT NULL
         AND u.hard_deleted_at IS NULL AND u.deleted_at <= ?3) WHERE id = ?4`,
    )
    .bind(ctx.tenantId, JSON.stringify(seqs), deletedBy, run.id);
  return run.dryRun ? [count] : [count, ...hardDeleteUsersStatements(ctx, seqs, deletedBy)];
}

// ---- the preview ----------------------------------------------------------------------------------------------------

export type PreviewRow = {
  seq: number;
  userId: string;
  purgeAfter: string;
  litigationHold: boolean;
  deletable: number;
  kept: number;
  keptBy: string[];
};

/**
 * Disconnected mailboxes whose window ends by `asOf`, in seq order (top + 1 rows), with what a purge at `asOf` would
 * delete and keep: one grouped read of each one's items against the instant (rules.itemKept in SQL).
 */
export async function previewRows(ctx: Ctx, asOf: string, top: number, after: number): Promise<PreviewRow[]> {
  const { results } = await ctx.d1
    .prepare(
      `SELECT m.seq, (SELECT id FROM users WHERE seq = m.user_seq) AS userId, m.purge_after AS purgeAfter,
         m.litigation_hold AS litigationHold,
         (SELECT count(*) FROM mailbox_items i WHERE i.mailbox_seq = m.seq AND ${deletable("?2")}) AS deletable,
         (SELECT count(*) FROM mailbox_items i WHERE i.mailbox_seq = m.seq AND NOT ${deletable("?2")}) AS kept,
         (SELECT json_group_array(name) FROM (SELECT DISTINCT l.name FROM mailbox_items i
            JOIN retention_labels l ON l.seq = i.label_seq WHERE i.mailbox_seq = m.seq AND NOT ${deletable("?2")}
            ORDER BY l.name)) AS keptBy
       FROM mailboxes m WHERE m.tenant_id = ?1 AND m.state = 'Disconnected' AND m.seq > ?3 AND m.purge_after <= ?2
       ORDER BY m.seq LIMIT ?4`,
    )
    .bind(ctx.tenantId, asOf, after, top + 1)
    .all<Record<string, unknown>>();
  return results.map((r) => ({
    seq: Number(r.seq),
    userId: String(r.userId),
    purgeAfter: String(r.purgeAfter),
    litigationHold: r.litigationHold === 1,
    deletable: Number(r.deletable),
    kept: Number(r.kept),
    keptBy: JSON.parse(String(r.keptBy)) as string[],
  }));
}
