import type { MiddlewareHandler } from "hono";
import { type AppEnv, makeCtx } from "../core/context.ts";
import { DomainError } from "../core/errors.ts";
import { hashApiKey } from "../tenancy/keys.ts";
import { type ApiKeyRecord, findApiKeyByHash } from "../tenancy/store.ts";

// Verified keys are remembered briefly per isolate: the key lookup would otherwise be a D1 round trip on every
// request. A revoked key stops working in this isolate at once and in others within KEY_CACHE_MS.
const KEY_CACHE_MS = 30_000;
const keyCache = new Map<string, { record: ApiKeyRecord | null; until: number }>();

export const forgetCachedKeys = () => keyCache.clear();

async function lookupKey(d1: D1Database, hash: string): Promise<ApiKeyRecord | null> {
  const cached = keyCache.get(hash);
  if (cached && cached.until > Date.now()) return cached.record;
  const record = await findApiKeyByHash(d1, hash);
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
