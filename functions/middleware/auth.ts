import type { MiddlewareHandler } from "hono";
import { type AppEnv, makeCtx, type Role } from "../core/context.ts";
import { DomainError } from "../core/errors.ts";
import { hashApiKey } from "../tenancy/keys.ts";

type KeyRecord = { keyId: string; tenantId: string; role: Role; name: string; operator: boolean };

// Verified keys are remembered briefly per isolate: the key lookup would otherwise be a D1 round trip on every
// request. A revoked key stops working in this isolate at once and in others within KEY_CACHE_MS.
const KEY_CACHE_MS = 30_000;
const keyCache = new Map<string, { record: KeyRecord | null; until: number }>();

export const forgetCachedKeys = () => keyCache.clear();

async function lookupKey(d1: D1Database, hash: string): Promise<KeyRecord | null> {
  const cached = keyCache.get(hash);
  if (cached && cached.until > Date.now()) return cached.record;
  const row = await d1
    .prepare(
      `SELECT k.id AS keyId, k.tenant_id AS tenantId, k.role, k.name, t.is_operator AS operator
       FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = ?1 AND k.revoked_at IS NULL`,
    )
    .bind(hash)
    .first<Omit<KeyRecord, "operator"> & { operator: number }>();
  const record = row ? { ...row, operator: row.operator === 1 } : null;
  if (keyCache.size > 10_000) keyCache.clear();
  keyCache.set(hash, { record, until: Date.now() + KEY_CACHE_MS });
  return record;
}

/** Resolves `Authorization: Bearer <key>` to a tenant and role, and builds the request's action context. */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (!token) throw new DomainError("unauthenticated", "Access token is empty.");
  const record = await lookupKey(c.env.DB, await hashApiKey(token));
  if (!record) throw new DomainError("unauthenticated", "Access token validation failure. Invalid audience.");
  const { keyId, name, role, operator } = record;
  c.set("ctx", makeCtx(c.env, record.tenantId, { kind: "apiKey", keyId, name, role, operator }, c.get("requestId")));
  await next();
};
