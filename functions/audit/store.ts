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
  const rows = entries.map((entry) => ({
    id: newId(),
    at: ctx.now.toISOString(),
    activity: entry.activity,
    category: entry.category,
    operationType: entry.operationType,
    result: entry.result ?? "success",
    resultReason: entry.resultReason ?? "",
    initiatedBy: JSON.stringify(initiatedBy(ctx.actor)),
    targets: JSON.stringify(
      entry.targets.map((t) => ({
        id: t.id,
        displayName: t.displayName ?? null,
        type: t.type,
        userPrincipalName: t.userPrincipalName ?? null,
        modifiedProperties: t.modifiedProperties ?? [],
      })),
    ),
    details: JSON.stringify(entry.additionalDetails ?? []),
  }));
  return [
    ctx.d1
      .prepare(
        `INSERT INTO audit_log (id, tenant_id, activity_date_time, activity_display_name, category, operation_type, result,
           result_reason, correlation_id, initiated_by, target_resources, additional_details)
         SELECT value ->> '$.id', ?1, value ->> '$.at', value ->> '$.activity', value ->> '$.category',
           value ->> '$.operationType', value ->> '$.result', value ->> '$.resultReason', ?2, value ->> '$.initiatedBy',
           value ->> '$.targets', value ->> '$.details'
         FROM json_each(?3)`,
      )
      .bind(ctx.tenantId, ctx.requestId, JSON.stringify(rows)),
  ];
}
