import type { Actor, Ctx } from "../core/context.ts";
import { newId } from "../core/ids.ts";

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
    ctx.d1
      .prepare(
        `INSERT INTO audit_log (id, tenant_id, activity_date_time, activity_display_name, category, operation_type, result,
           result_reason, correlation_id, initiated_by, target_resources, additional_details)
         SELECT value ->> 0, ?1, ?2, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?3, ?4, value -> 6, value -> 7
         FROM json_each(?5)`,
      )
      .bind(
        ctx.tenantId,
        ctx.now.toISOString(),
        ctx.requestId,
        JSON.stringify(initiatedBy(ctx.actor)),
        JSON.stringify(rows),
      ),
  ];
}
