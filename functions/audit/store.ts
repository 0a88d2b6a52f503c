import type { Actor, Ctx } from "../core/context.ts";
import { newId } from "../core/ids.ts";
import { Distinct } from "../core/sql.ts";

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

const initiatedBy = (actor: Actor) =>
  actor.kind === "apiKey"
    ? {
        app: {
          appId: actor.keyId,
          displayName: actor.name,
          servicePrincipalId: actor.keyId,
          servicePrincipalName: actor.role,
        },
      }
    : { app: { appId: null, displayName: actor.name, servicePrincipalId: null, servicePrincipalName: actor.name } };

/** An audit INSERT … SELECT: ?1 tenant, ?2 time, ?3 request id, ?4 actor; the caller's parameters from ?5. */
function auditInsert(ctx: Ctx, withClause: string, select: string, ...params: unknown[]): D1PreparedStatement {
  return ctx.d1
    .prepare(
      `${withClause} INSERT INTO audit_log (id, tenant_id, activity_date_time, activity_display_name, category, operation_type, result,
           result_reason, correlation_id, initiated_by, target_resources, additional_details)
       ${select}`,
    )
    .bind(ctx.tenantId, ctx.now.toISOString(), ctx.requestId, JSON.stringify(initiatedBy(ctx.actor)), ...params);
}

/** The audit row for a change; always part of the same batch as the change itself. */
export function auditStatement(ctx: Ctx, entry: AuditEntry): D1PreparedStatement {
  return auditStatements(ctx, [entry])[0]!;
}

export function auditStatements(ctx: Ctx, entries: AuditEntry[]): D1PreparedStatement[] {
  if (entries.length === 0) return [];
  // Rows travel as compact arrays with their JSON parts nested (not re-encoded as strings): group processing writes
  // a thousand of these per page, and the size of this one parameter is most of the cost.
  const rows = entries.map((entry) => [
    newId(),
    entry.activity,
    entry.category,
    entry.operationType,
    entry.result ?? "success",
    entry.resultReason ?? "",
    entry.targets.map((t) => ({
      id: t.id,
      displayName: t.displayName ?? null,
      type: t.type,
      userPrincipalName: t.userPrincipalName ?? null,
      modifiedProperties: t.modifiedProperties ?? [],
    })),
    entry.additionalDetails ?? [],
  ]);
  return [
    auditInsert(
      ctx,
      "",
      `SELECT value ->> 0, ?1, ?2, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?3, ?4, value -> 6, value -> 7
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

/**
 * "Change user license" rows for any number of users, in one statement: each row travels as its user and two indexes
 * into a list of distinct license descriptions (a page of a group job shares a handful), and SQL builds the same
 * targetResources that auditStatements writes for a single entry.
 */
export function userLicenseChangeStatements(ctx: Ctx, changes: readonly UserLicenseChange[]): D1PreparedStatement[] {
  if (changes.length === 0) return [];
  const descriptions = new Distinct();
  const rows = changes.map((c) => [
    newId(),
    c.user.id,
    c.user.displayName,
    c.user.userPrincipalName,
    descriptions.numberOf(c.oldValue),
    descriptions.numberOf(c.newValue),
  ]);
  return [
    auditInsert(
      ctx,
      "WITH d AS MATERIALIZED (SELECT key AS k, value AS text FROM json_each(?6))",
      `SELECT r.value ->> 0, ?1, ?2, 'Change user license', 'UserManagement', 'Update', 'success', '', ?3, ?4,
           json_array(json_object('id', r.value ->> 1, 'displayName', r.value ->> 2, 'type', 'User',
             'userPrincipalName', r.value ->> 3, 'modifiedProperties', json_array(json_object(
               'displayName', 'AssignedLicense', 'oldValue', old.text, 'newValue', new.text)))), '[]'
         FROM json_each(?5) AS r JOIN d AS old ON old.k = r.value ->> 4 JOIN d AS new ON new.k = r.value ->> 5`,
      JSON.stringify(rows),
      JSON.stringify(descriptions.values()),
    ),
  ];
}

/**
 * "Add member to group" / "Remove member from group" rows for the users of one group, in one statement: one member
 * added through the API, or thousands a page when a dynamic rule moves them.
 */
export function memberChangeStatements(
  ctx: Ctx,
  group: { id: string; displayName: string },
  changes: readonly { user: AuditUser; added: boolean }[],
): D1PreparedStatement[] {
  if (changes.length === 0) return [];
  const groupTarget = {
    id: group.id,
    displayName: group.displayName,
    type: "Group",
    userPrincipalName: null,
    modifiedProperties: [],
  };
  return [
    auditInsert(
      ctx,
      "",
      `SELECT value ->> 0, ?1, ?2, iif(value ->> 4, 'Add member to group', 'Remove member from group'), 'GroupManagement',
           iif(value ->> 4, 'Assign', 'Unassign'), 'success', '', ?3, ?4,
           json_array(json_object('id', value ->> 1, 'displayName', value ->> 2, 'type', 'User',
             'userPrincipalName', value ->> 3, 'modifiedProperties', json_array()), json(?6)), '[]'
         FROM json_each(?5)`,
      JSON.stringify(
        changes.map((c) => [newId(), c.user.id, c.user.displayName, c.user.userPrincipalName, c.added ? 1 : 0]),
      ),
      JSON.stringify(groupTarget),
    ),
  ];
}
