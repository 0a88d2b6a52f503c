/** CORS for browser tools calling an instance: off unless SEATFLOW_CORS_ORIGINS lists the origins allowed. */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../core/context.ts";

/**
 * What Graph clients send beyond the safelisted headers: the key, JSON bodies, advanced queries' ConsistencyLevel, the
 * SDKs' client-request-id / return-client-request-id / SdkVersion (telemetry handler) and Prefer, and If-Match.
 */
const ALLOW_HEADERS = [
  "Authorization",
  "Content-Type",
  "ConsistencyLevel",
  "client-request-id",
  "return-client-request-id",
  "SdkVersion",
  "Prefer",
  "If-Match",
];

/** What a browser script may read of an answer: the ids to quote, when to retry, where a created object is, a 405's Allow. */
const EXPOSE_HEADERS = ["request-id", "client-request-id", "Retry-After", "Location", "Allow"];

const withCors = cors({
  // Only called for an origin already on the list: echoing it (never `*`) keeps caches keyed by Origin (Vary).
  origin: (origin) => origin,
  allowMethods: ["GET", "HEAD", "POST", "PATCH", "DELETE"],
  allowHeaders: ALLOW_HEADERS,
  exposeHeaders: EXPOSE_HEADERS,
  maxAge: 600,
  // No credentials: keys travel in Authorization, never in cookies.
});

// An origin is scheme://host[:port]; a list entry may carry a trailing slash or capitals and still mean it.
const normalise = (origin: string) => origin.trim().replace(/\/+$/, "").toLowerCase();

let parsed: { text: string; origins: Set<string> } | undefined;
const allowList = (text: string) => {
  if (parsed?.text !== text) {
    parsed = { text, origins: new Set(text.split(",").map(normalise).filter(Boolean)) };
  }
  return parsed.origins;
};

/**
 * Answers preflights and adds CORS headers for an origin on the comma-separated allow-list (`*` allows any). Any other
 * request, and every request while the list is empty (the default), passes through without a single CORS header, so
 * a disallowed origin's preflight reaches authentication and fails there.
 */
export const corsAllowList: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header("origin");
  const origins = allowList(c.env.SEATFLOW_CORS_ORIGINS ?? "");
  if (!origin || origins.size === 0 || !(origins.has("*") || origins.has(normalise(origin)))) return next();
  return withCors(c, next);
};
