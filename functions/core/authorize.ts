/**
 * Authorization that travels with the verb: every action checks its caller first, so the API, the admin UI, SCIM, HR
 * webhooks and the CLI are held to the same rules whatever route or form they came through.
 */
import type { Ctx, Role } from "./context.ts";
import { forbidden } from "./errors.ts";

export type Access = {
  /** The roles that may act. */
  roles: readonly Role[];
  /** Installation-wide: on top of the role, the caller must belong to the operator tenant. */
  operator?: boolean;
  /**
   * A route whose caller proves itself with a credential of its own instead of an API key (no role may call it with
   * one): `bootstrapToken`, the installation's one-time SEATFLOW_BOOTSTRAP_TOKEN secret.
   */
  credential?: "bootstrapToken";
};

/** The role an actor acts with: an API key's own, HrIntegration for an HR source; system actors act as the service. */
export const roleOf = (actor: Ctx["actor"]): Role | "system" =>
  actor.kind === "apiKey" ? actor.role : actor.kind === "hr" ? "HrIntegration" : "system";

/** Whether `actor` may do what `access` allows (system actors — the queue, the scheduler, the CLI — always may). */
export function allows(actor: Ctx["actor"], access: Access): boolean {
  if (actor.kind === "system") return true;
  const role = roleOf(actor);
  if (role === "system" || !access.roles.includes(role)) return false;
  return !access.operator || (actor.kind === "apiKey" && actor.operator);
}

/** Refuses the call unless the actor may act; the first line of every verb. */
export function requireRole(ctx: Pick<Ctx, "actor">, access: Access): void {
  if (allows(ctx.actor, access)) return;
  if (access.operator && roleOf(ctx.actor) !== "system" && access.roles.includes(roleOf(ctx.actor) as Role)) {
    throw forbidden("Only the operator tenant's administrators can make installation-wide changes.", "operatorOnly");
  }
  throw forbidden();
}
