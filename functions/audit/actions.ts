/** The audit verbs: reading the directory audit log. (Every change writes its own rows, in its own batch.) */
import { requireRole } from "../core/authorize.ts";
import type { Ctx } from "../core/context.ts";
import { can } from "../core/roles.ts";
import { type AuditListQuery, listAudits } from "./store.ts";

/** A page of the tenant's log, newest first; an operator's also shows the installation's. */
export async function listDirectoryAudits({
  ctx,
  input,
}: {
  ctx: Ctx;
  input: Omit<AuditListQuery, "withInstallation">;
}) {
  requireRole(ctx, can.readAudit);
  return listAudits(ctx, { ...input, withInstallation: ctx.actor.kind === "apiKey" && ctx.actor.operator });
}
