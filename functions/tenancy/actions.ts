/** The tenancy verbs: API keys and the organization. Every entry point (API, CLI, seed, tests) goes through these. */
import { auditStatement } from "../audit/store.ts";
import { requireRole } from "../core/authorize.ts";
import type { Ctx, Role } from "../core/context.ts";
import { notFound } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { can } from "../core/roles.ts";
import { generateApiKey, hashApiKey } from "./keys.ts";
import {
  type ApiKeyRow,
  findLiveApiKey,
  findTenant,
  insertApiKeyStatement,
  listApiKeys as listStoredApiKeys,
  revokeApiKeyStatement,
  type Tenant,
} from "./store.ts";

export type { Tenant } from "./store.ts";

export type IssuedKey = { id: string; key: string; role: Role; name: string; tenantId: string; createdAt: string };

/** A new key's secret (shown once) and the statements that store its hash and record it. */
export async function newKey(ctx: Ctx, tenantId: string, role: Role, name: string) {
  const key = generateApiKey();
  const issued: IssuedKey = { id: newId(), key, role, name, tenantId, createdAt: ctx.now.toISOString() };
  const insert = insertApiKeyStatement(ctx.d1, { ...issued, keyHash: await hashApiKey(key) });
  const audit = auditStatement(
    ctx,
    {
      activity: "Add API key",
      category: "ApplicationManagement",
      operationType: "Add",
      targets: [{ id: issued.id, displayName: issued.name, type: "Other" }],
      additionalDetails: [{ key: "role", value: issued.role }],
    },
    { log: tenantId },
  );
  return { issued, statements: [insert, audit] };
}

/** Issues an API key for the context's tenant; the secret is returned once and only its hash is kept. */
export async function issueApiKey({ ctx, input }: { ctx: Ctx; input: { role: Role; name?: string | undefined } }) {
  requireRole(ctx, can.manageTenancy);
  if (!(await findTenant(ctx.d1, ctx.tenantId))) throw notFound(ctx.tenantId);
  const { issued, statements } = await newKey(ctx, ctx.tenantId, input.role, input.name ?? `${input.role} key`);
  await ctx.d1.batch(statements);
  return issued;
}

export async function listApiKeys({ ctx }: { ctx: Ctx }): Promise<ApiKeyRow[]> {
  requireRole(ctx, can.manageTenancy);
  return listStoredApiKeys(ctx.d1, ctx.tenantId);
}

export async function revokeApiKey({ ctx, input }: { ctx: Ctx; input: { keyId: string } }) {
  requireRole(ctx, can.manageTenancy);
  const row = await findLiveApiKey(ctx.d1, ctx.tenantId, input.keyId);
  if (!row) throw notFound(input.keyId);
  await ctx.d1.batch([
    revokeApiKeyStatement(ctx.d1, ctx.tenantId, input.keyId, ctx.now.toISOString()),
    auditStatement(ctx, {
      activity: "Delete API key",
      category: "ApplicationManagement",
      operationType: "Delete",
      targets: [{ id: row.id, displayName: row.name, type: "Other" }],
    }),
  ]);
}

/** The caller's tenant (Graph's organization). */
export async function getOrganization({ ctx }: { ctx: Ctx }): Promise<Tenant> {
  requireRole(ctx, can.readDirectory);
  const tenant = await findTenant(ctx.d1, ctx.tenantId);
  if (!tenant) throw notFound(ctx.tenantId);
  return tenant;
}
