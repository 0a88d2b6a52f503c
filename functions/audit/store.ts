/** The audit log as stored: the rows every change writes in its own batch, and directoryAudits' read. */
import type { Actor, Ctx } from "../core/context.ts";
import { newId } from "../core/ids.ts";
import type { CompiledFilter } from "../core/odata.ts";
import { chunk, Distinct } from "../core/sql.ts";
import { AUDIT_ID } from "./filter.ts";

export type ModifiedProperty = { displayName: string; oldValue: string | null; newValue: string | null };
export type AuditTarget = {
  id: string;
  displayName?: string | null;
  type: "User" | "Group" | "Other" | "Directory";
  userPrincipalName?: string | null;
  modifiedProperties?: ModifiedProperty[];
};
export type AuditEntry = {
  activity: string;
  category: "UserManagement" | "GroupManagement" | "DirectoryManagement" | "ApplicationManagement" | "Policy";
  operationType: "Add" | "Update" | "Delete" | "Assign" | "Unassign";
  targets: AuditTarget[];
  result?: "success" | "failure";
  resultReason?: string;
  additionalDetails?: { key: string; value: string }[];
};

/**
 * The log of installation-wide changes (the shared catalogue, tenants created by the CLI): no tenant owns them, and
 * the operator tenants' directoryAudits show them.
 */
export const INSTALLATION_LOG = "";

const initiatedBy = (actor: Actor) => {
  switch (actor.kind) {
    case "apiKey":
      return {
        app: {
          appId: actor.keyId,
          displayName: actor.name,
          servicePrincipalId: actor.keyId,
          servicePrincipalName: actor.role,
        },
      };
    case "hr":
      return {
        app: {
          appId: actor.sourceId,
          displayName: actor.name,
          servicePrincipalId: actor.sourceId,
          servicePrincipalName: "HrIntegration",
        },
      };
    case "system":
      return {
        app: { appId: null, displayName: actor.name, servicePrincipalId: null, servicePrincipalName: actor.name },
      };
  }
};

/** Where an audit row goes: the acting tenant's own log unless a change is recorded elsewhere (see INSTALLATION_LOG). */
export type AuditLog = { log?: string };

/** A target with every field Graph shows, absent ones as null or empty. */
const fullTarget = (t: AuditTarget) => ({
  id: t.id,
  displayName: t.displayName ?? null,
  type: t.type,
  userPrincipalName: t.userPrincipalName ?? null,
  modifiedProperties: t.modifiedProperties ?? [],
});

/** An audit INSERT of single rows (SELECT) or one bulk row (VALUES): ?1 tenant, ?2 time, ?3 request id, ?4 actor; the caller's parameters from ?5. */
function auditInsert(ctx: Ctx & AuditLog, select: string, ...params: unknown[]): D1PreparedStatement {
  return ctx.d1
    .prepare(
      `INSERT INTO audit_log (id, tenant_id, activity_date_time, activity_display_name, category, operation_type, result,
           result_reason, correlation_id, initiated_by, target_resources, additional_details, entries, entry_property, entry_values)
       ${select}`,
    )
    .bind(
      ctx.log ?? ctx.tenantId,
      ctx.now.toISOString(),
      ctx.requestId,
      JSON.stringify(initiatedBy(ctx.actor)),
      ...params,
    );
}

/** The audit row for a change; always part of the same batch as the change itself. */
export function auditStatement(ctx: Ctx, entry: AuditEntry, where: AuditLog = {}): D1PreparedStatement {
  return auditStatements(ctx, [entry], where)[0]!;
}

/** A single row's own columns, from its id to its result reason, in the table's order. */
const entryColumns = (entry: Omit<AuditEntry, "additionalDetails" | "targets">) => [
  newId(),
  entry.activity,
  entry.category,
  entry.operationType,
  entry.result ?? "success",
  entry.resultReason ?? "",
];

export function auditStatements(ctx: Ctx, entries: AuditEntry[], where: AuditLog = {}): D1PreparedStatement[] {
  if (entries.length === 0) return [];
  // Rows travel as compact arrays with their JSON parts nested, not re-encoded as strings.
  const rows = entries.map((entry) => [
    ...entryColumns(entry),
    entry.targets.map(fullTarget),
    entry.additionalDetails ?? [],
  ]);
  return [
    auditInsert(
      { ...ctx, ...where },
      `SELECT value ->> 0, ?1, ?2, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?3, ?4, value -> 6, value -> 7,
         NULL, NULL, NULL
       FROM json_each(?5)`,
      JSON.stringify(rows),
    ),
  ];
}

/** The user a license or membership change is about, as its audit row names them. */
export type AuditUser = { id: string; displayName: string; userPrincipalName: string };

/** A user's licenses changed: what a group job records a thousand times a page, so it has its own compact path. */
export type UserLicenseChange = {
  user: AuditUser;
  /** The assigned licenses before and after, as JSON text (Graph's modifiedProperties carry strings). */
  oldValue: string;
  newValue: string;
};

/** What every entry of a bulk row shares; each entry adds its user (and that user's old and new value). */
export type BulkShape = Pick<AuditEntry, "activity" | "category" | "operationType"> & {
  /** The targets after the user in each entry's targetResources. */
  sharedTargets: AuditTarget[];
  /** The user's one modified property, when the entries carry old and new values. */
  property?: string;
};

/** One bulk row's content: its shape, and the users it names (with their old and new value when the shape has a property). */
export type BulkAuditRow = {
  shape: BulkShape;
  entries: readonly { user: AuditUser; oldValue?: string; newValue?: string }[];
};

/** The parameters one bulk row binds in bulkAuditStatements (the statement's own four come first). */
const BULK_ROW_PARAMS = 8;
/** Bulk rows per INSERT: D1 binds at most 100 parameters. */
const BULK_ROWS_PER_STATEMENT = Math.floor((100 - 4) / BULK_ROW_PARAMS);

/**
 * Bulk audit rows for entries that differ only in their user: one INSERT for all the rows (a licensing change and the
 * mailbox and OneDrive moves it causes are one statement), however many users each names, storing the actor, time,
 * shared targets and distinct values once. directoryAudits shows each entry as its own directoryAudit, shaped exactly
 * as auditStatements would have written it. A row without entries is not written.
 */
export function bulkAuditStatements(ctx: Ctx, rows: readonly BulkAuditRow[]): D1PreparedStatement[] {
  const written = rows.filter((row) => row.entries.length > 0);
  return chunk(written, BULK_ROWS_PER_STATEMENT).map((part) => {
    const params: unknown[] = [];
    const tuples = part.map(({ shape, entries }) => {
      const values = new Distinct();
      const stored = entries.map(({ user, oldValue, newValue }) => {
        const row: (string | number)[] = [user.id, user.displayName, user.userPrincipalName];
        if (shape.property !== undefined) row.push(values.numberOf(oldValue ?? ""), values.numberOf(newValue ?? ""));
        return row;
      });
      const p = 5 + params.length;
      params.push(
        newId(),
        shape.activity,
        shape.category,
        shape.operationType,
        JSON.stringify(shape.sharedTargets.map(fullTarget)),
        JSON.stringify(stored),
        shape.property ?? null,
        shape.property === undefined ? null : JSON.stringify(values.values()),
      );
      return `(?${p}, ?1, ?2, ?${p + 1}, ?${p + 2}, ?${p + 3}, 'success', '', ?3, ?4, ?${p + 4}, '[]', ?${p + 5}, ?${p + 6}, ?${p + 7})`;
    });
    return auditInsert(ctx, `VALUES ${tuples.join(", ")}`, ...params);
  });
}

/** Where the caller's own parameters start in bulkAuditFromQuery's SQL (the row's own take ?1 to ?11). */
export const BULK_QUERY_FIRST_PARAM = 12;

/**
 * One bulk audit row whose entries a query finds in SQL: for changes that statements later in the same batch make
 * and that SQL decides (a page's mailbox moves, the purge's), so the row names exactly the users they move. `from` is
 * a SELECT yielding one row per entry: userId, displayName, userPrincipalName and the indexes of the old and new
 * values in `values`; `with` its common table expressions. Both see ?1 (the tenant) and ?2 (the change's time), and
 * their own parameters from ?BULK_QUERY_FIRST_PARAM. No entries, no row.
 */
export function bulkAuditFromQuery(
  ctx: Ctx,
  shape: BulkShape & { property: string },
  values: readonly string[],
  query: { with?: string; from: string; params: readonly unknown[] },
): D1PreparedStatement {
  // SQLite takes the common table expressions after the column list too (a SELECT may open with WITH).
  return auditInsert(
    ctx,
    `${query.with ?? ""}
     SELECT ?5, ?1, ?2, ?6, ?7, ?8, 'success', '', ?3, ?4, ?9, '[]',
       json_group_array(json_array(e.userId, e.displayName, e.userPrincipalName, e.oldValue, e.newValue)), ?10, ?11
     FROM (${query.from}) AS e HAVING count(*) > 0`,
    newId(),
    shape.activity,
    shape.category,
    shape.operationType,
    JSON.stringify(shape.sharedTargets.map(fullTarget)),
    shape.property,
    JSON.stringify(values),
    ...query.params,
  );
}

/**
 * A single audit row whose additionalDetails SQL computes from what the batch wrote before it (a purge run's totals,
 * summed in its ledger page by page): `details` yields a JSON array of {key, value}, seeing ?1 (the tenant), ?2 (the
 * time) and its own parameters from ?BULK_QUERY_FIRST_PARAM.
 */
export function auditWithDetailsFromQuery(
  ctx: Ctx,
  entry: Omit<AuditEntry, "additionalDetails">,
  details: { sql: string; params: readonly unknown[] },
): D1PreparedStatement {
  return auditInsert(
    ctx,
    `SELECT ?5, ?1, ?2, ?6, ?7, ?8, ?9, ?10, ?3, ?4, ?11, (${details.sql}), NULL, NULL, NULL`,
    ...entryColumns(entry),
    JSON.stringify(entry.targets.map(fullTarget)),
    ...details.params,
  );
}

const USER_LICENSE_CHANGE: BulkShape = {
  activity: "Change user license",
  category: "UserManagement",
  operationType: "Update",
  sharedTargets: [],
  property: "AssignedLicense",
};

/**
 * "Change user license" entries for any number of users, as one bulk row; `alongside` are the rows of what the change
 * moves elsewhere (a mailbox), written by the same statement.
 */
export function userLicenseChangeStatements(
  ctx: Ctx,
  changes: readonly UserLicenseChange[],
  alongside: readonly BulkAuditRow[] = [],
): D1PreparedStatement[] {
  return bulkAuditStatements(ctx, [{ shape: USER_LICENSE_CHANGE, entries: changes }, ...alongside]);
}

/**
 * "Add member to group" / "Remove member from group" entries for the users of one group: one member added through
 * the API, or thousands a page when a dynamic rule moves them.
 */
export function memberChangeStatements(
  ctx: Ctx,
  group: { id: string; displayName: string },
  changes: readonly { user: AuditUser; added: boolean }[],
): D1PreparedStatement[] {
  const sharedTargets: AuditTarget[] = [{ id: group.id, displayName: group.displayName, type: "Group" }];
  const users = (added: boolean) => changes.filter((c) => c.added === added);
  // A rule page that adds some members and removes others writes both rows in one statement.
  return bulkAuditStatements(ctx, [
    {
      shape: { activity: "Add member to group", category: "GroupManagement", operationType: "Assign", sharedTargets },
      entries: users(true),
    },
    {
      shape: {
        activity: "Remove member from group",
        category: "GroupManagement",
        operationType: "Unassign",
        sharedTargets,
      },
      entries: users(false),
    },
  ]);
}

/** A stored bulk entry: [userId, displayName, userPrincipalName, oldValue?, newValue?]; its id is derived (AUDIT_ID). */
type BulkEntry = [string, string, string, number?, number?];

/** An audit row as directoryAudits reads it: a single row, or one entry of a bulk row (entry set). */
export type StoredAudit = {
  targetResources: string;
  entry: string | null;
  entryProperty: string | null;
  entryValues: string | null;
};

/** The targetResources of a stored row or bulk entry, as Graph shows them. */
export function targetResourcesOf(row: StoredAudit): unknown[] {
  const targets = JSON.parse(row.targetResources) as unknown[];
  if (row.entry === null) return targets;
  const [id, displayName, userPrincipalName, oldIndex, newIndex] = JSON.parse(row.entry) as BulkEntry;
  const values = row.entryValues === null ? [] : (JSON.parse(row.entryValues) as string[]);
  const modifiedProperties: ModifiedProperty[] =
    row.entryProperty === null
      ? []
      : [{ displayName: row.entryProperty, oldValue: values[oldIndex!] ?? null, newValue: values[newIndex!] ?? null }];
  return [fullTarget({ id, displayName, type: "User", userPrincipalName, modifiedProperties }), ...targets];
}

export type AuditRow = Record<string, string> & StoredAudit;

export type AuditListQuery = {
  /** A compiled $filter over `audit_log a` (with `e`, a bulk row's entry): SQL and its parameters. */
  filter?: CompiledFilter | undefined;
  top: number;
  /** The keyset cursor: time and id of the last entry shown. */
  before?: { time: string; id: string } | undefined;
  /** Also the installation's own log (operators see installation-wide changes). */
  withInstallation?: boolean;
};

/**
 * A page of the tenant's directoryAudits, newest first (top + 1 entries). A bulk row's entries share its time and their
 * ids extend the row's, so the index gives rows in time order and only a bulk row's own entries are sorted.
 */
export async function listAudits(ctx: Pick<Ctx, "d1" | "tenantId">, query: AuditListQuery): Promise<AuditRow[]> {
  const params: (string | number | null)[] = [ctx.tenantId];
  let where = query.withInstallation ? `a.tenant_id IN (?, '${INSTALLATION_LOG}')` : "a.tenant_id = ?";
  if (query.filter) {
    where += ` AND ${query.filter.sql}`;
    params.push(...query.filter.params);
  }
  if (query.before) {
    where += ` AND (a.activity_date_time < ? OR (a.activity_date_time = ? AND ${AUDIT_ID} < ?))`;
    params.push(query.before.time, query.before.time, query.before.id);
  }
  const { results } = await ctx.d1
    .prepare(
      `SELECT ${AUDIT_ID} AS id, a.category, a.correlation_id AS correlationId, a.result, a.result_reason AS resultReason,
         a.activity_display_name AS activityDisplayName, a.activity_date_time AS activityDateTime, a.operation_type AS operationType,
         a.initiated_by AS initiatedBy, a.target_resources AS targetResources, a.additional_details AS additionalDetails,
         e.value AS entry, a.entry_property AS entryProperty, a.entry_values AS entryValues
       FROM audit_log a LEFT JOIN json_each(a.entries) e WHERE ${where} ORDER BY a.activity_date_time DESC, id DESC LIMIT ?`,
    )
    .bind(...params, query.top + 1)
    .all<AuditRow>();
  return results;
}
