import { drizzle } from "drizzle-orm/d1";
import * as schema from "../../db/schema/index.ts";

export const roles = [
  "GlobalAdministrator",
  "LicenseAdministrator",
  "UserAdministrator",
  "GlobalReader",
  "HrIntegration",
] as const;
export type Role = (typeof roles)[number];

/** Who is acting: an API key holder, or seatflow itself (group processing, cron) as Entra's system actors. */
export type Actor =
  | { kind: "apiKey"; keyId: string; name: string; role: Role; operator: boolean }
  | { kind: "system"; name: string };

export const groupLicensingActor: Actor = { kind: "system", name: "Microsoft Entra ID Group-Based Licensing" };

export type Db = ReturnType<typeof makeDb>;
export const makeDb = (d1: D1Database) => drizzle(d1, { schema });

/** Everything an action needs to act for one tenant; built per request, queue message or cron run. */
export type Ctx = {
  env: Env;
  d1: D1Database;
  db: Db;
  tenantId: string;
  actor: Actor;
  now: Date;
  requestId: string;
};

export function makeCtx(env: Env, tenantId: string, actor: Actor, requestId: string = crypto.randomUUID()): Ctx {
  return { env, d1: env.DB, db: makeDb(env.DB), tenantId, actor, now: new Date(), requestId };
}

export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string; clientRequestId: string; ctx: Ctx };
};
