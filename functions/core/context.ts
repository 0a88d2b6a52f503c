/** The context every action runs in: who acts, for which tenant, at what time, with which bindings. */

export const roles = [
  "GlobalAdministrator",
  "LicenseAdministrator",
  "UserAdministrator",
  "GlobalReader",
  "HrIntegration",
] as const;
export type Role = (typeof roles)[number];

/**
 * Who is acting: an API key holder, an HR source (signed webhooks, SCIM), or seatflow itself — group processing,
 * dynamic membership, the scheduler and the CLI act as system actors, as Entra's own services do.
 */
export type Actor =
  | { kind: "apiKey"; keyId: string; name: string; role: Role; operator: boolean }
  | { kind: "hr"; sourceId: string; name: string }
  | { kind: "system"; name: string };

export const groupLicensingActor: Actor = { kind: "system", name: "Microsoft Entra ID Group-Based Licensing" };
export const dynamicMembershipActor: Actor = { kind: "system", name: "Microsoft Entra ID Dynamic Membership" };
export const schedulerActor: Actor = { kind: "system", name: "seatflow scheduler" };
export const cliActor: Actor = { kind: "system", name: "seatflow CLI" };
/** Whoever holds the installation's bootstrap token, creating its first operator tenant (POST /api/bootstrap). */
export const bootstrapActor: Actor = { kind: "system", name: "seatflow bootstrap" };

/** Everything an action needs to act for one tenant; built per request, queue message or cron run. */
export type Ctx = {
  env: Env;
  d1: D1Database;
  tenantId: string;
  actor: Actor;
  /** Fixed for the whole request, message or run: every row it writes carries the same time. */
  now: Date;
  requestId: string;
};

export function makeCtx(
  env: Env,
  tenantId: string,
  actor: Actor,
  requestId: string = crypto.randomUUID(),
  now: Date = new Date(),
): Ctx {
  return { env, d1: env.DB, tenantId, actor, now, requestId };
}

export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string; clientRequestId: string; ctx: Ctx };
};
