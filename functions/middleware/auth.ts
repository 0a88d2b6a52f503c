/** Who is calling: an API key for every route, or the installation's bootstrap token for the one route that takes it. */
import type { Context, MiddlewareHandler } from "hono";
import { type AppEnv, bootstrapActor, makeCtx } from "../core/context.ts";
import { DomainError } from "../core/errors.ts";
import { routeAccess } from "../core/openapi.ts";
import { hashApiKey } from "../tenancy/keys.ts";
import { type ApiKeyRecord, findApiKeyByHash } from "../tenancy/store.ts";

// Verified keys are remembered briefly per isolate: the key lookup would otherwise be a D1 round trip on every
// request. A revoked key stops working in this isolate at once and in others within KEY_CACHE_MS. The cache is keyed
// by the token as presented (this isolate holds it for the request anyway), so a repeat caller skips the digest too.
const KEY_CACHE_MS = 30_000;
const keyCache = new Map<string, { record: ApiKeyRecord | null; until: number }>();

export const forgetCachedKeys = () => keyCache.clear();

async function lookupKey(d1: D1Database, token: string): Promise<ApiKeyRecord | null> {
  const cached = keyCache.get(token);
  if (cached && cached.until > Date.now()) return cached.record;
  const record = await findApiKeyByHash(d1, await hashApiKey(token));
  if (keyCache.size > 10_000) keyCache.clear();
  keyCache.set(token, { record, until: Date.now() + KEY_CACHE_MS });
  return record;
}

const bearerToken = (c: Context<AppEnv>) => /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "")?.[1]?.trim();

/** Secrets are set with `wrangler secret put`, so `wrangler types` (which reads wrangler.toml) does not know them. */
type Secrets = { SEATFLOW_BOOTSTRAP_TOKEN?: string };

const sha256 = (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/** Compares two secrets in time that does not depend on where they differ (digests first, so lengths match too). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * The bootstrap route's caller: whoever holds SEATFLOW_BOOTSTRAP_TOKEN acts as seatflow itself, for the installation
 * (no tenant yet). Without the secret the route does not exist (Graph's 404 for an unknown segment), so an
 * installation that never sets it, or deletes it after bootstrapping, shows nothing to probe.
 */
async function bootstrapToken(c: Context<AppEnv>, next: () => Promise<void>) {
  const expected = (c.env as Secrets).SEATFLOW_BOOTSTRAP_TOKEN;
  if (!expected) throw new DomainError("notFound", "Resource not found for the segment 'bootstrap'.");
  const token = bearerToken(c);
  if (!token) throw new DomainError("unauthenticated", "Access token is empty.");
  if (!(await sameSecret(token, expected))) {
    throw new DomainError("unauthenticated", "The bootstrap token does not match SEATFLOW_BOOTSTRAP_TOKEN.");
  }
  c.set("ctx", makeCtx(c.env, "", bootstrapActor, c.get("requestId")));
  await next();
}

/**
 * Resolves `Authorization: Bearer <key>` to a tenant and role, and builds the request's action context. A route that
 * takes a credential of its own (defineRoute's access says so; such routes have no path parameters, so the request path
 * is the declared one) is authenticated by it instead, never by an API key.
 */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (routeAccess.get(`${c.req.method} ${c.req.path}`)?.credential === "bootstrapToken") return bootstrapToken(c, next);
  const token = bearerToken(c);
  if (!token) throw new DomainError("unauthenticated", "Access token is empty.");
  const record = await lookupKey(c.env.DB, token);
  if (!record) throw new DomainError("unauthenticated", "Access token validation failure. Invalid audience.");
  const { keyId, name, role, operator } = record;
  c.set("ctx", makeCtx(c.env, record.tenantId, { kind: "apiKey", keyId, name, role, operator }, c.get("requestId")));
  await next();
};
